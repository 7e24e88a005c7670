#!/usr/bin/python3
"""Regenerates testdata/django_vectors.json from a real Django.

Run with Debian's python3 after `apt-get install python3-django python3-bcrypt
python3-argon2` (Django 3.2.25 was used). The Go tests read the JSON as
known-answer vectors, so the Go code is checked against Django itself.
"""
import json

import django
from django.conf import settings

settings.configure(
    AUTH_PASSWORD_VALIDATORS=[
        {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
        {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
        {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
        {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    ],
    PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"],
)
django.setup()

from django.contrib.auth import hashers  # noqa: E402
from django.contrib.auth.password_validation import validate_password  # noqa: E402
from django.core.exceptions import ValidationError  # noqa: E402


class _Field:
    verbose_name = "email address"  # the tutorial's EmailField(_('email address'))


class _Meta:
    def get_field(self, name):
        return _Field()


class User:
    """Stands in for the tutorial's custom user: only email is set."""

    _meta = _Meta()

    def __init__(self, email):
        self.email = email
        self.username = None
        self.first_name = None
        self.last_name = None


def messages(password, email):
    user = User(email) if email else None
    try:
        validate_password(password, user)
    except ValidationError as e:
        return list(e.messages)
    return []


VALIDATE = [
    ("", ""),
    ("", "someuser@x.com"),
    ("", "@x.com"),
    ("a", "a@b.c"),
    ("short", ""),
    ("1234567", ""),
    ("12345678", ""),
    ("98127364501", ""),
    ("password", ""),
    ("Password  ", ""),
    ("  PASSWORD\t", ""),
    ("p@ssw0rd", ""),
    ("correct horse battery staple", ""),
    ("Tr0ub4dor&3x", ""),
    ("someuser123", "someuser@x.com"),
    ("someuser123", ""),
    ("someuser", "someuser@x.com"),
    ("SomeUser!!", "someuser@x.com"),
    ("resuemos99", "someuser@x.com"),
    ("x.com1234", "someuser@x.com"),
    ("jane.doe@example.org", "jane.doe@example.org"),
    ("exampleorg!", "jane.doe@example.org"),
    ("doe-jane-2024", "jane.doe@example.org"),
    ("zq8!vLk#2mPw", "jane.doe@example.org"),
    ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "a@b.co"),
    ("abababababababab", "ab@ab.ab"),
    ("müllerpass", "müller@beispiel.de"),
    ("ÉCOLE-école", "école@ex.fr"),
    ("٠١٢٣٤٥٦٧٨٩", ""),
    ("under_score_name", "under_score@x.io"),
    ("testpass123", "admin@example.com"),
    ("qwertyuiop", "qwerty@x.com"),
]

out = {
    "django_version": django.get_version(),
    "validate": [
        {"password": p, "email": e, "messages": messages(p, e)} for p, e in VALIDATE
    ],
}

# pbkdf2_sha256: Django's own encoder with its 3.2 default of 260000 iterations.
out["pbkdf2_sha256"] = {
    "password": "testpass123",
    "encoded": hashers.PBKDF2PasswordHasher().encode("testpass123", "somesalt"),
}


class FastBCryptSHA256(hashers.BCryptSHA256PasswordHasher):
    rounds = 4


class FastBCrypt(hashers.BCryptPasswordHasher):
    rounds = 4


class FastArgon2(hashers.Argon2PasswordHasher):
    time_cost = 1
    memory_cost = 1024
    parallelism = 2


out["django_hashers"] = [
    {"password": "testpass123", "encoded": FastBCryptSHA256().encode("testpass123", FastBCryptSHA256().salt())},
    {"password": "testpass123", "encoded": FastBCrypt().encode("testpass123", FastBCrypt().salt())},
    {"password": "testpass123", "encoded": FastArgon2().encode("testpass123", FastArgon2().salt())},
]

import bcrypt  # noqa: E402

out["bcrypt_2y"] = {
    "password": "testpass123",
    "encoded": bcrypt.hashpw(b"testpass123", bcrypt.gensalt(4)).decode().replace("$2b$", "$2y$", 1),
}

print(json.dumps(out, indent=1, ensure_ascii=False))
