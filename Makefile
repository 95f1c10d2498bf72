# Webhook ingestion: build, test and run locally.
# `make test` is what CI runs (.ci/run); `make run` starts everything on loopback.

GO        ?= go
GOARCH_LAMBDA ?= arm64
BUILD_DIR ?= build
FUNCTIONS := $(notdir $(wildcard functions/*))
# Reproducible Lambda binaries: no VCS stamp, no build id, trimmed paths, no cgo.
LAMBDA_FLAGS := -tags lambda.norpc -trimpath -buildvcs=false -ldflags "-s -w -buildid="

.PHONY: build test test-unit vet fmt fmt-check size-check clean

# The receivers (functions/<provider>) and the example consumer (examples/consumer, deployed
# only with -c exampleConsumer=true, see docs/DEPLOY.md); cdk.json's "build" runs this.
build: $(FUNCTIONS:%=$(BUILD_DIR)/%/bootstrap) $(BUILD_DIR)/consumer/bootstrap

$(BUILD_DIR)/%/bootstrap: FORCE
	@mkdir -p $(dir $@)
	CGO_ENABLED=0 GOOS=linux GOARCH=$(GOARCH_LAMBDA) $(GO) build $(LAMBDA_FLAGS) -o $@ ./functions/$*

# An explicit rule: it wins over the pattern rule above.
$(BUILD_DIR)/consumer/bootstrap: FORCE
	@mkdir -p $(dir $@)
	CGO_ENABLED=0 GOOS=linux GOARCH=$(GOARCH_LAMBDA) $(GO) build $(LAMBDA_FLAGS) -o $@ ./examples/consumer

FORCE:

# The consumer package is its own module (consumer/go.mod): every Go target
# runs in both modules. test, test-unit and vet run each module whatever
# another's result (.ci/modules, logs in .run/test-logs/), and end by naming
# every failed test (package and test name) or package of every module.
MODULES := . consumer
EACH    := .ci/modules

# The packages whose code or tests run concurrently: the consumer's group workers
# (consumer, and examples/consumer through the one-at-a-time proxy), the local runner,
# gateway and poller (internal/localrun, cmd/webhooks-local), the soak's proxy and
# driver (internal/loadtest), the serial proxy and moto supervisor (internal/awskit),
# the event store's parallel scan (shared/eventstore), the signing clock
# (internal/devkit) and perfreport's load driver and log readers (cmd/perfreport).
# make test runs their tests under the race detector, and only there: the same tests,
# with every data race they reach a failure. Import paths of either module.
RACE_PKGS := webhooks/consumer webhooks/examples/consumer webhooks/internal/localrun \
	webhooks/cmd/webhooks-local webhooks/internal/loadtest webhooks/internal/awskit \
	webhooks/shared/eventstore webhooks/internal/devkit webhooks/cmd/perfreport
# Run in a module's directory: p = its packages in RACE_PKGS (RACE=-x) or not in it
# (RACE=-vx). A module go cannot list fails the step rather than testing nothing.
SELECT_PKGS = all=$$($(GO) list -e ./...) || exit 1; p=$$(printf "%s\n" "$$all" | grep -F $$RACE $(RACE_PKGS:%=-e %))

# Everything: formatting, vet, tracked file sizes, unit and integration tests (moto_server and
# the emulator are started by the tests), the concurrent packages' under the race detector
# (it needs cgo and a C compiler: CGO_ENABLED=1 for that step only). Every step runs whatever
# another's result; the summary at the end names every failure of every step and module; the
# exit status is non-zero if anything failed.
test: tools
	@$(EACH) reset; status=0; \
	$(PROGRESS_DOWNLOAD); \
	$(FMT_CHECK) || status=1; \
	$(SIZE_CHECK) || status=1; \
	$(PROGRESS_BUILD); \
	$(VET) || status=1; \
	$(EACH) run test $(MODULES) -- sh -c 'RACE=-vx; $(SELECT_PKGS); [ -z "$$p" ] || $(GO) test -count=1 $$p' || status=1; \
	$(EACH) run race $(MODULES) -- sh -c 'RACE=-x; $(SELECT_PKGS); [ -z "$$p" ] || CGO_ENABLED=1 $(GO) test -race -count=1 $$p' || status=1; \
	$(EACH) summary || status=1; \
	exit $$status

# Progress for a cold machine, where fetching the modules (~35 s) and compiling the 570
# packages (14 minutes on a busy 2-core machine) would otherwise print nothing: go names
# each module it fetches, and the build prints a line per 25 packages it compiles as it
# goes (a shell loop: awk would buffer) and their number (0 when all are cached). Neither step decides the result: a module that cannot be fetched or
# built fails vet and test below, which the summary names.
PROGRESS_DOWNLOAD = echo "== downloading modules (the first time: a few minutes, the CDK modules are ~430 MB)"; \
	for m in $(MODULES); do echo "   module $$m"; (cd $$m && $(GO) list -e -deps -test ./... >/dev/null); done
PROGRESS_BUILD = echo "== building (the first time: minutes; then cached)"; \
	for m in $(MODULES); do echo "   module $$m"; (cd $$m && $(GO) build -v $$($(GO) list -e -f '{{if and (ne .Name "main") .GoFiles}}{{.ImportPath}}{{end}}' ./...) 2>&1 | \
		{ n=0; while IFS= read -r l; do case "$$l" in ""|*[!A-Za-z0-9._~/+-]*) echo "   $$l";; *) n=$$((n+1)); [ $$((n % 25)) -ne 0 ] || echo "   $$n packages compiled ($$l)";; esac; done; echo "   $$n packages compiled"; }); done

# Unit tests only (go test -short): no moto_server, emulator or cfn-lint, and no CDK
# synthesis (infra/stack's template tests skip); make test runs all of them.
test-unit:
	@$(EACH) run test-unit $(MODULES) -- $(GO) test -short -count=1 ./...

VET = $(EACH) run vet $(MODULES) -- $(GO) vet ./...
vet:
	@$(VET)

fmt:
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) fmt ./...); done

FMT_CHECK = { out=$$(for m in $(MODULES); do (cd $$m && gofmt -l $$($(GO) list -f '{{.Dir}}' ./...)); done); if [ -n "$$out" ]; then echo "not gofmt-formatted:"; echo "$$out"; $(EACH) note fmt-check $$out; false; fi; }
fmt-check:
	@$(FMT_CHECK)

# No tracked file over 1 MiB: build outputs and binaries do not belong in the repository.
MAX_TRACKED_BYTES ?= 1048576
SIZE_CHECK = { big=$$(git ls-files -z | xargs -0 -r stat -c '%s %n' 2>/dev/null | awk -v max=$(MAX_TRACKED_BYTES) '$$1 > max {print "  " $$2 " (" $$1 " bytes)"}'); \
	if [ -n "$$big" ]; then echo "tracked files over $(MAX_TRACKED_BYTES) bytes (build outputs do not belong in git):"; echo "$$big"; $(EACH) note size-check "tracked files over $(MAX_TRACKED_BYTES) bytes:" $$big; false; fi; }
size-check:
	@$(SIZE_CHECK)

clean:
	rm -rf $(BUILD_DIR) cdk.out

# ---- Tools that make installs (never committed) ----
# The official AWS Lambda Runtime Interface Emulator (the one the SAM CLI runs in its
# containers), built from its Go module at this exact version into the git-ignored
# .run/tools/ (a new version lands in a new directory, so bumping it reinstalls).
# make run, make demo, make test, make soak and make bench run the real bootstraps
# under it; the tests find it through WEBHOOKS_RIE. See docs/LOCAL.md.
RIE_PKG     := github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie
RIE_VERSION := v0.0.0-20261030222936-bef5c4ba774d
TOOLS_DIR   ?= .run/tools
RIE         := $(TOOLS_DIR)/aws-lambda-rie-$(RIE_VERSION)/aws-lambda-rie
export WEBHOOKS_RIE := $(abspath $(RIE))

.PHONY: tools
tools: $(RIE)

$(RIE):
	@mkdir -p $(dir $@)
	@echo "== tools: building the Lambda Runtime Interface Emulator (once: fetches its module, about a minute)"
	GOBIN=$(abspath $(dir $@)) $(GO) install $(RIE_PKG)@$(RIE_VERSION)

# CDK: synthesise the stack into cdk.out/ (the CLI runs `make build` first, see cdk.json).
# Needs `npm ci` once for the pinned CDK CLI.
.PHONY: synth
synth:
	npx cdk synth

# ---- Local run (no Docker, no AWS account): see docs/LOCAL.md ----
# Host binaries for the local Lambda runtime: same flags as the Lambda build,
# but for this machine's OS and architecture, under the git-ignored .run/.
RUN_BIN  ?= .run/bin
RUN_ARGS ?=

.PHONY: run demo run-bin

run-bin: $(FUNCTIONS:%=$(RUN_BIN)/%/bootstrap)

$(RUN_BIN)/%/bootstrap: FORCE
	@mkdir -p $(dir $@)
	CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o $@ ./functions/$*

# The example consumer (examples/consumer) for the host, for `make run RUN_ARGS=-consumer`.
.PHONY: run-consumer-bin
run-consumer-bin: $(RUN_BIN)/consumer/bootstrap

$(RUN_BIN)/consumer/bootstrap: FORCE
	@mkdir -p $(dir $@)
	CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o $@ ./examples/consumer

# The tool is built, not `go run`: go run exits 1 after a Ctrl-C whatever the
# program returns, and make would report that as an error.
RUN_TOOL := .run/webhooks-local

.PHONY: run-tool
run-tool:
	@mkdir -p $(dir $(RUN_TOOL))
	$(GO) build -o $(RUN_TOOL) ./cmd/webhooks-local

# Everything on 127.0.0.1:3000 until Ctrl-C, which stops every child and exits 0
# (extra flags: make run RUN_ARGS=-v). The same address serves the Lambda Invoke
# API for operator commands (aws lambda invoke --endpoint-url http://127.0.0.1:3000).
# Logs in .run/logs/, and .run/local.json tells webhookctl where everything is.
# make run RUN_ARGS=-consumer also runs the example consumer on every queue.
run: run-bin run-consumer-bin run-tool tools
	$(RUN_TOOL) -bin $(RUN_BIN) $(RUN_ARGS)

# Send every sample in events/ through the local system, print a summary, exit
# non-zero if a sample was not answered as expected. Uses a free port, its own
# log directory (.run/demo/logs/) and no state file, so it also works while
# `make run` is up and leaves that run's logs and .run/local.json alone.
demo: run-bin run-consumer-bin run-tool tools
	$(RUN_TOOL) -bin $(RUN_BIN) -addr 127.0.0.1:0 -demo -exit $(RUN_ARGS)

# ---- Reliability (docs/RELIABILITY.md) ----
FUZZTIME ?= 30s
# Empty: every fuzz test of both modules, found in the source. A subset, as
# package:Func (make fuzz FUZZ_TARGETS="shared/pan:FuzzRedact consumer/fieldname:FuzzRules"),
# is fuzzed and printed, and the report is left as it was.
FUZZ_TARGETS ?=

.PHONY: fuzz soak
# Each fuzz target for FUZZTIME (make fuzz FUZZTIME=5m), each in its own module. A crash
# is saved under the package's testdata/fuzz/ and then runs as a regression case in every
# `make test`. cmd/fuzzreport writes the fuzz table of docs/RELIABILITY.md (targets,
# executions, new inputs, time, commit, date) only when every target passed; a crash
# leaves it unchanged and fails. The tool is built first: `go run` would report its exit
# status twice.
FUZZ_TOOL := .run/fuzzreport
fuzz:
	@mkdir -p $(dir $(FUZZ_TOOL))
	$(GO) build -o $(FUZZ_TOOL) ./cmd/fuzzreport
	$(FUZZ_TOOL) -modules "$(MODULES)" -fuzztime $(FUZZTIME) -report docs/RELIABILITY.md \
		-command "make fuzz FUZZTIME=$(FUZZTIME)" $(if $(FUZZ_TARGETS),-targets "$(FUZZ_TARGETS)")

# 2,500 webhooks across the four providers, sent to the real bootstraps under the
# emulator, under 20% injected AWS faults, per fault kind; then the harsh soak
# (1,000 webhooks: SQS and DynamoDB outage windows, runtimes killed mid-request,
# providers that give up after 3 attempts, then the redrive and the oracle).
# Rewrites the soak tables of docs/RELIABILITY.md. SOAK_ARGS="-runs harsh" runs
# only the harsh soak; `go run ./cmd/soak -h` lists the knobs.
SOAK_ARGS ?=
soak: run-bin tools
	$(GO) run ./cmd/soak -bin $(RUN_BIN) -report docs/RELIABILITY.md $(SOAK_ARGS)

# ---- Performance report (issue 7): see docs/PERFORMANCE.md ----
# Benchmarks (CPU only), binary sizes, cold starts, a load run through the local
# gateway with the bare AWS calls beside it, and AWS calls and dollars per
# million webhooks; cmd/perfreport renders docs/PERFORMANCE.md, every number in it from
# this run (its measurements and inputs) and the commit it measured. Loopback only;
# about 5 minutes on 2 cores. A run with any error (a failed benchmark, linearity
# check, cold start, cost run or load level) fails and leaves the report unchanged.
BENCH_OUT   ?= .run/bench.txt
BENCH_COUNT ?= 5
BENCH_TIME  ?= 300ms
BENCH_PKGS  := ./shared/providers/... ./shared/pipeline ./shared/queue ./shared/pan
PERF_ARGS   ?=

.PHONY: bench
bench: build run-bin tools
	@mkdir -p $(dir $(BENCH_OUT))
	WEBHOOKS_TIMING_TESTS=1 $(GO) test -count=1 -run 'TestCPUPathIsLinear' ./shared/pipeline
	$(GO) test -run '^$$' -bench . -benchmem -count $(BENCH_COUNT) -benchtime $(BENCH_TIME) $(BENCH_PKGS) > $(BENCH_OUT)
	$(GO) run ./cmd/perfreport -bench $(BENCH_OUT) -lambda-bin $(BUILD_DIR) -host-bin $(RUN_BIN) -out docs/PERFORMANCE.md \
		-commands "make bench; $(GO) test -run '^\$$' -bench . -benchmem -count $(BENCH_COUNT) -benchtime $(BENCH_TIME) $(BENCH_PKGS); $(GO) run ./cmd/perfreport -bench $(BENCH_OUT) -lambda-bin $(BUILD_DIR) -host-bin $(RUN_BIN) -out docs/PERFORMANCE.md $(PERF_ARGS)" $(PERF_ARGS)

# ---- Capacity (issue 23): the "Capacity" section of docs/PERFORMANCE.md, alone ----
# The capacity model and its simulation (internal/loadtest/capacity) without moto_server, the
# emulator or a build: seconds. `make bench` writes the same section into the report
# with the latency its load run measured; this writes it alone to CAPACITY_OUT.
CAPACITY_OUT  ?= .run/capacity.md
CAPACITY_ARGS ?= -capacity-latency aws

.PHONY: capacity
capacity:
	@mkdir -p $(dir $(CAPACITY_OUT))
	$(GO) run ./cmd/perfreport -only capacity -out $(CAPACITY_OUT) $(CAPACITY_ARGS)
	@cat $(CAPACITY_OUT)
