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
	$(MAKE) --no-print-directory fuzz

# Every fuzz target: name, package, and the run `make test` gives it, an
# execution count of about 10 s here. Counts, not durations: go1.26's fuzz
# coordinator can fail a duration-bounded run with a bare "context deadline
# exceeded" at the deadline (golang/go#75804, fixed in go1.27). Longer runs:
# make fuzz FUZZTIME=5m (or FUZZTIME=5000000x).
FUZZ_TARGETS := \
	FuzzUnmarshal,./agent/pdu,250000x \
	FuzzLoadConfig,./stack/module,1500x \
	FuzzParse,./stack/stackfile,30000x \
	FuzzParse,./stack/labfile,40000x \
	FuzzOpen,./stack/backplane,400000x \
	FuzzStep,./negotiation,400000x \
	FuzzUnmarshalAdvert,./negotiation,400000x \
	FuzzUnmarshalProbe,./stack/ipmon,400000x \
	FuzzUnmarshalReport,./stack/ipmon,400000x \
	FuzzUnmarshal,./stack/configmsg,200000x \
	FuzzUnmarshal,./stack/device,400000x \
	FuzzParseLogfmt,./stack/web,80000x \
	FuzzDecodeRows,./stack/web,80000x \
	FuzzMachine,./stack/trapmgr,30000x \
	FuzzReadHeader,./stack/stackaddr,200000x
FUZZTIME ?=
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		IFS=, read -r name pkg n <<< "$$t"; \
		echo "go test -run '^$$' -fuzz '^$$name$$' -fuzztime $${FUZZTIME:-$$n} $$pkg"; \
		go test -run '^$$' -fuzz "^$$name\$$" -fuzztime "$${FUZZTIME:-$$n}" "$$pkg" || exit 1; \
	done

# Walk rates beside snmpd native, the C reference subagent (agent/cref,
# built here with the system compiler) and a python3-pyagentx reference,
# one run; CPSMM_BENCH_ROUNDS and CPSMM_BENCH_ROUND set the rounds.
bench: deps
	@/usr/bin/python3 -c 'import pyagentx' 2>/dev/null || { \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-pyagentx >/dev/null; }
	@command -v $${CC:-cc} >/dev/null || { \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends gcc libc6-dev >/dev/null; }
	go test -run '^$$' -bench WalkRates -benchtime 1x ./cmd/cpsmm

# A real stack under random module faults for $(SOAK) (not in CI): counts
# instants with two Primaries, periods with no Primary longer than holdtime
# + 1 s and acknowledged device Sets lost; fails unless all three are 0.
SOAK ?= 5m
SOAK_TIMEOUT ?= 24h
soak: deps
	CPSMM_SOAK=$(SOAK) go test -run '^TestSoak$$' -count=1 -timeout $(SOAK_TIMEOUT) -v ./cmd/cpsstack
