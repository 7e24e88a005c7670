module github.com/portcullis-oauth/portcullis/shared

go 1.26
