# The two set-up commands of the README: `make demo` and `make test`.
# Each installs what is missing through scripts/install-deps.sh first.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)

.PHONY: demo test deps bench build fuzz soak

deps:
	@bash scripts/install-deps.sh

build:
	go build -o bin/ ./cmd/...

demo: deps
	bash scripts/run-module.sh

test: deps
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	go vet ./...
	go test -race -count=1 ./...
	$(MAKE) --no-print-directory fuzz FUZZTIME=10s

# Short runs of every fuzz target (longer: make fuzz FUZZTIME=5m).
FUZZTIME ?= 30s
fuzz:
	go test -run '^$$' -fuzz '^FuzzUnmarshal$$' -fuzztime $(FUZZTIME) ./agent/pdu
	go test -run '^$$' -fuzz '^FuzzLoadConfig$$' -fuzztime $(FUZZTIME) ./stack/module
	go test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./stack/stackfile
	go test -run '^$$' -fuzz '^FuzzOpen$$' -fuzztime $(FUZZTIME) ./stack/backplane
	go test -run '^$$' -fuzz '^FuzzStep$$' -fuzztime $(FUZZTIME) ./negotiation
	go test -run '^$$' -fuzz '^FuzzUnmarshalAdvert$$' -fuzztime $(FUZZTIME) ./negotiation
	go test -run '^$$' -fuzz '^FuzzUnmarshal$$' -fuzztime $(FUZZTIME) ./stack/configmsg
	go test -run '^$$' -fuzz '^FuzzUnmarshal$$' -fuzztime $(FUZZTIME) ./stack/device

# Walk rates beside snmpd native and a python3-pyagentx reference, one run.
bench: deps
	@/usr/bin/python3 -c 'import pyagentx' 2>/dev/null || { \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-pyagentx >/dev/null; }
	go test -run '^$$' -bench WalkRates -benchtime 1x ./cmd/cpsmm

# A real stack under random module faults for $(SOAK) (not in CI): counts
# instants with two Primaries, periods with no Primary longer than holdtime
# + 1 s and acknowledged device Sets lost; fails unless all three are 0.
SOAK ?= 5m
SOAK_TIMEOUT ?= 24h
soak: deps
	CPSMM_SOAK=$(SOAK) go test -run '^TestSoak$$' -count=1 -timeout $(SOAK_TIMEOUT) -v ./cmd/cpsstack
