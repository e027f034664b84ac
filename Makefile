# scorelens: the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

GO        ?= go
ROOT      := $(abspath .)
TOOLS     := $(ROOT)/.tools/bin
OCB       := $(TOOLS)/builder
OCB_VER   := v0.165.0
DIST      := $(ROOT)/otelcol-dist
COLLECTOR := $(DIST)/otelcol-dist
EPPSIM    := $(TOOLS)/eppsim
MODULES   := scheduler processor bench e2e deploy/grafana
# Keep the machine's -buildvcs=false: a GOFLAGS in the environment replaces it.
export GOFLAGS ?= -buildvcs=false

# rules, dashboards: deploy/prometheus and deploy/grafana (the operator's stack).
.PHONY: rules dashboards
.PHONY: all run test vet unit e2e fuzz fuzz-corpus bench bench-scheduler bench-processor bench-connector bench-connector-vs collector eppsim validate fmt clean

all: test

## run: build what is missing, start the collector, drive it with eppsim, print the per-scorer table.
run: collector eppsim
	$(GO) run ./e2e/cmd/scorelens-run -collector $(COLLECTOR) -config $(DIST)/config.yaml -eppsim $(EPPSIM) -log $(ROOT)/out/collector.log

## test: vet and race-test every module, replay fuzz corpora, end-to-end tests against the built collector.
test: vet unit rules e2e

vet:
	@for m in $(MODULES); do echo "go vet ./$$m/..."; (cd $$m && $(GO) vet ./...); done
	@# The image tests build only under their tag (make image-test): vet them here too.
	cd e2e && $(GO) vet -tags image .
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

unit:
	cd scheduler && $(GO) test -race -count=1 ./...
	cd processor && $(GO) test -race -count=1 ./...
	cd bench && $(GO) test -race -count=1 -run . ./...
	cd deploy/grafana && $(GO) test -race -count=1 ./...

e2e: collector validate eppsim tier1
	cd e2e && SCORELENS_COLLECTOR=$(COLLECTOR) SCORELENS_EPPSIM=$(EPPSIM) SCORELENS_TIER1=$(TIER1) $(GO) test -race -count=1 -timeout 15m ./...

## eppsim: the simulator `make run` and the end-to-end tests drive the collector with (go build is a no-op when warm).
eppsim:
	$(GO) build -o $(EPPSIM) ./scheduler/cmd/eppsim

## fuzz: fuzz each target longer than `make test` does (which replays the seed corpora only).
# FUZZTIME counts inputs rather than seconds: Go 1.26's fuzz coordinator can end a
# duration-bounded run with a spurious "context deadline exceeded" (golang/go#75804).
# -fuzzminimizetime keeps the progress line moving while a new input is minimized.
FUZZTIME ?= 300000x
fuzz:
	cd processor && $(GO) test -run '^$$' -fuzz '^FuzzProcessTraces$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./eppscoringprocessor
	cd processor && $(GO) test -run '^$$' -fuzz '^FuzzConsumeTraces$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./eppscoringconnector

## bench: every headline figure of the README, side by side in one run each.
bench: bench-scheduler bench-processor bench-connector

bench-scheduler:
	cd scheduler && $(GO) test -run '^$$' -bench '^BenchmarkSchedule(DistinctPrompts)?$$' -benchmem -count=1 .
	cd scheduler && $(GO) test -run '^$$' -bench '^(BenchmarkScorerShape|BenchmarkPrefixCache64KiB)$$' -benchmem -count=1 ./plugins/scorer
	cd scheduler && $(GO) test -run '^$$' -bench '^BenchmarkChainDecision$$' -benchmem -count=1 ./instrument

# BENCH_COUNT rounds: the bench test binary runs every impl once per round,
# so the impls take turns through the run and a busy minute on this shared
# machine lands on all of them rather than on one impl's repeats (go test
# -count would run one impl's repeats back to back). benchratio averages
# the rounds (make bench-connector BENCH_COUNT=4).
BENCH_COUNT ?= 1

# bench-rounds NAME PATTERN: the raw rows go to out/NAME.txt and stdout,
# then benchratio prints the ratio of each impl to eppscoring.
define bench-rounds
	@mkdir -p $(ROOT)/out
	cd bench && $(GO) test -c -o $(ROOT)/out/bench.test .
	cd bench && for i in $$(seq $(BENCH_COUNT)); do $(ROOT)/out/bench.test -test.run '^$$' -test.bench '$(2)' -test.benchmem || exit 1; done > $(ROOT)/out/$(1).txt
	@rm -f $(ROOT)/out/bench.test
	@cat $(ROOT)/out/$(1).txt
	cd bench && $(GO) run ./cmd/benchratio < $(ROOT)/out/$(1).txt
endef

bench-processor:
	$(call bench-rounds,bench-processor,^BenchmarkProcessor)

bench-connector:
	$(call bench-rounds,bench-connector,^BenchmarkConnector)

# The connector benchmark as this tree has it and as REV had it, the two
# test binaries alternated BENCH_COUNT times in one run: our cost against our
# own earlier cost, which contrib's run-to-run swings do not blur. The
# default REV is the connector before sampling, profiles and decisions.
REV ?= 4b3b5b6
bench-connector-vs:
	bash bench/scripts/vs-rev.sh $(REV) $(BENCH_COUNT)

## collector: build otelcol-dist/otelcol-dist with ocb (installed into .tools/bin).
$(OCB):
	GOBIN=$(TOOLS) GOWORK=off $(GO) install go.opentelemetry.io/collector/cmd/builder@$(OCB_VER)

collector: $(COLLECTOR)

COLLECTOR_SRCS := builder-config.yaml $(shell find scheduler processor -name '*.go' -not -name '*_test.go' -not -path 'scheduler/cmd/*' 2>/dev/null) \
	$(wildcard scheduler/go.mod scheduler/go.sum processor/go.mod processor/go.sum)

$(COLLECTOR): $(OCB) $(COLLECTOR_SRCS)
	GOWORK=off $(OCB) --config=builder-config.yaml

## validate: every shipped collector config passes `otelcol-dist validate`.
validate: collector
	@for c in $(DIST)/config.yaml $$(ls e2e/testdata/*.yaml 2>/dev/null); do echo "validate $$c"; $(COLLECTOR) validate --config=$$c; done

## rules: check the Prometheus rules and run their unit tests with promtool (Debian's prometheus package; .ci/run installs it).
rules:
	@command -v promtool >/dev/null || { echo "promtool not found: apt-get install prometheus (.ci/run does)"; exit 1; }
	promtool check rules deploy/prometheus/scorelens.rules.yml
	cd deploy/prometheus && promtool test rules scorelens.rules.test.yml

## dashboards: regenerate deploy/grafana/scorelens.json from its Go source (commit the result; `make test` checks it matches).
dashboards:
	cd deploy/grafana && $(GO) run ./cmd/dashboards -out scorelens.json

## image: the container image of deploy/image/Dockerfile, built with podman from the collector ocb
## builds (statically linked: ocb compiles with CGO_ENABLED=0). Not part of `make test`: see docs/deploy.md.
.PHONY: image image-test
CONTAINER ?= podman
IMAGE     ?= localhost/scorelens/otelcol-dist:dev
IMAGE_CTX := $(ROOT)/out/image
# How image-test runs the container. On this project's CI VMs crun refuses hybrid cgroups
# and the runtime may not raise rlimits: runc with lowered ulimits runs. Set to "" elsewhere.
IMAGE_RUN_FLAGS ?= --runtime runc --ulimit nofile=4096:4096 --ulimit nproc=4096:4096

image: collector
	@command -v $(CONTAINER) >/dev/null || { echo "make image: $(CONTAINER) not found (Debian: apt-get install podman)" >&2; exit 1; }
	rm -rf $(IMAGE_CTX) && mkdir -p $(IMAGE_CTX)
	cp $(COLLECTOR) $(IMAGE_CTX)/otelcol-dist
	cp deploy/image/config.yaml $(IMAGE_CTX)/config.yaml
	cp /etc/ssl/certs/ca-certificates.crt $(IMAGE_CTX)/ca-certificates.crt
	$(CONTAINER) build -f deploy/image/Dockerfile -t $(IMAGE) $(IMAGE_CTX)

## image-test: check the image's config and files, run it, send it OTLP, scrape its metrics.
image-test: image eppsim
	cd e2e && $(GO) vet -tags image .
	cd e2e && SCORELENS_IMAGE=$(IMAGE) SCORELENS_CONTAINER=$(CONTAINER) SCORELENS_CONTAINER_RUN_FLAGS="$(IMAGE_RUN_FLAGS)" \
		SCORELENS_COLLECTOR=$(COLLECTOR) SCORELENS_EPPSIM=$(EPPSIM) \
		$(GO) test -tags image -race -count=1 -run '^TestImage' -timeout 10m .

fmt:
	gofmt -w $(MODULES)

clean:
	rm -rf $(TOOLS) $(ROOT)/out $(filter-out $(DIST)/config.yaml $(DIST)/README.md,$(wildcard $(DIST)/*))

## tier1: the first-tier collector of a scaled-out fleet (loadbalancing exporter, contrib v0.161.0), from its own
## manifest deploy/tier1/builder-config.yaml with ocb v0.161.0 (installed apart from otelcol-dist's ocb).
OCB_TIER1_VER := v0.161.0
OCB_TIER1     := $(TOOLS)/ocb-$(OCB_TIER1_VER)/builder
TIER1         := $(ROOT)/deploy/tier1/otelcol-tier1/otelcol-tier1

$(OCB_TIER1):
	GOBIN=$(dir $(OCB_TIER1)) GOWORK=off $(GO) install go.opentelemetry.io/collector/cmd/builder@$(OCB_TIER1_VER)

.PHONY: tier1 load bench-collector clean-scale
tier1: $(TIER1)

$(TIER1): $(OCB_TIER1) deploy/tier1/builder-config.yaml
	GOWORK=off $(OCB_TIER1) --config=deploy/tier1/builder-config.yaml

clean: clean-scale
clean-scale:
	rm -rf $(ROOT)/deploy/tier1/otelcol-tier1 $(ROOT)/.tools/otelcol-bench

## load: drive one otelcol-dist over OTLP/gRPC on loopback and print its limits on this machine: the highest
## sustained span rate with zero loss, 10x that rate against the memory_limiter, SIGKILL and restart, malformed
## input on both OTLP ports. Not part of `make test` (minutes; bounded in spans and time).
load: collector
	@mkdir -p $(ROOT)/out/load
	cd e2e && $(GO) run ./cmd/loadgen -collector $(COLLECTOR) -config testdata/load.yaml -out $(ROOT)/out/load | tee $(ROOT)/out/load.txt

## bench-collector: CPU seconds and peak RSS per million spans of the built collectors on the same traffic: a bare
## OTLP pass-through (the floor), otelcol-dist's default pipeline, contrib's equivalent (bench-only collector).
BENCH_COLLECTOR := $(ROOT)/.tools/otelcol-bench/otelcol-bench

$(BENCH_COLLECTOR): $(OCB) bench/collector/builder-config.yaml
	GOWORK=off $(OCB) --config=bench/collector/builder-config.yaml

bench-collector: collector $(BENCH_COLLECTOR)
	@mkdir -p $(ROOT)/out/bench-collector
	cd e2e && $(GO) run ./cmd/costbench -collector $(COLLECTOR) -contrib $(BENCH_COLLECTOR) -out $(ROOT)/out/bench-collector | tee $(ROOT)/out/bench-collector.txt
