module github.com/scorelens/scorelens/deploy/grafana

go 1.26.0

require (
	github.com/grafana/grafana-foundation-sdk/go v0.0.22
	github.com/scorelens/scorelens/scheduler v0.0.0
)

replace github.com/scorelens/scorelens/scheduler => ../../scheduler
