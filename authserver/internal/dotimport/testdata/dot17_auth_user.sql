-- DOT 1.7's tables and Django's stock auth_user, as Django's migrations make
-- them on SQLite (the columns the import reads). Used by the dotimport and
-- import-dot CLI tests.
CREATE TABLE auth_user (id integer PRIMARY KEY AUTOINCREMENT, password varchar(128) NOT NULL, last_login datetime NULL,
  is_superuser bool NOT NULL, username varchar(150) NOT NULL UNIQUE, first_name varchar(150) NOT NULL, last_name varchar(150) NOT NULL,
  email varchar(254) NOT NULL, is_staff bool NOT NULL, is_active bool NOT NULL, date_joined datetime NOT NULL);
CREATE TABLE auth_group (id integer PRIMARY KEY AUTOINCREMENT, name varchar(150) NOT NULL UNIQUE);
CREATE TABLE auth_user_groups (id integer PRIMARY KEY AUTOINCREMENT, user_id integer NOT NULL, group_id integer NOT NULL);
CREATE TABLE oauth2_provider_application (id integer PRIMARY KEY AUTOINCREMENT, client_id varchar(100) NOT NULL UNIQUE,
  redirect_uris text NOT NULL, client_type varchar(32) NOT NULL, authorization_grant_type varchar(32) NOT NULL,
  client_secret varchar(255) NOT NULL, name varchar(255) NOT NULL, user_id integer NULL, skip_authorization bool NOT NULL,
  created datetime NOT NULL, updated datetime NOT NULL, algorithm varchar(5) NOT NULL);
CREATE TABLE oauth2_provider_accesstoken (id integer PRIMARY KEY AUTOINCREMENT, token varchar(255) NOT NULL UNIQUE,
  expires datetime NOT NULL, scope text NOT NULL, application_id integer NULL, user_id integer NULL, created datetime NOT NULL,
  updated datetime NOT NULL, source_refresh_token_id integer NULL UNIQUE, id_token_id integer NULL UNIQUE);
CREATE TABLE oauth2_provider_refreshtoken (id integer PRIMARY KEY AUTOINCREMENT, token varchar(255) NOT NULL,
  access_token_id integer NULL UNIQUE, application_id integer NOT NULL, user_id integer NOT NULL, created datetime NOT NULL,
  updated datetime NOT NULL, revoked datetime NULL);
