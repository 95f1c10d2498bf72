# Webhook ingestion: build, test and run locally.
# `make test` is what CI runs (.ci/run); `make run` starts everything on loopback.

GO        ?= go
GOARCH_LAMBDA ?= arm64
BUILD_DIR ?= build
FUNCTIONS := $(notdir $(wildcard functions/*))
# Reproducible Lambda binaries: no VCS stamp, no build id, trimmed paths, no cgo.
LAMBDA_FLAGS := -tags lambda.norpc -trimpath -buildvcs=false -ldflags "-s -w -buildid="

.PHONY: build test test-unit vet fmt fmt-check clean

build: $(FUNCTIONS:%=$(BUILD_DIR)/%/bootstrap)

$(BUILD_DIR)/%/bootstrap: FORCE
	@mkdir -p $(dir $@)
	CGO_ENABLED=0 GOOS=linux GOARCH=$(GOARCH_LAMBDA) $(GO) build $(LAMBDA_FLAGS) -o $@ ./functions/$*

FORCE:

# Everything: formatting, vet, unit and integration tests (moto_server is started by the tests).
test: fmt-check vet
	$(GO) test -count=1 ./...

# Unit tests only (no moto_server needed).
test-unit:
	$(GO) test -short -count=1 ./...

vet:
	$(GO) vet ./...

fmt:
	$(GO) fmt ./...

fmt-check:
	@out=$$(gofmt -l $$($(GO) list -f '{{.Dir}}' ./...)); if [ -n "$$out" ]; then echo "not gofmt-formatted:"; echo "$$out"; exit 1; fi

clean:
	rm -rf $(BUILD_DIR) cdk.out

# CDK: synthesise the stack into cdk.out/ (the CLI runs `make build` first, see cdk.json).
# Needs `npm ci` once for the pinned CDK CLI.
.PHONY: synth
synth:
	npx cdk synth
