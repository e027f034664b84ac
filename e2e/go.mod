module github.com/scorelens/scorelens/e2e

go 1.26.0
