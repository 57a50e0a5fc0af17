# cccd: the two commands a new machine needs are `make demo` and `make test`.
# Both install what they need (Debian packages, Go modules) and start what they need.

GO        ?= go
BIN       := bin/cccd
DEMO_DIR  ?= $(CURDIR)/.demo
SLOTS     ?= 16

.PHONY: all deps build demo test test-short fuzz clean

all: build

deps:
	@scripts/deps.sh

build: deps
	$(GO) build -o $(BIN) ./cmd/cccd

# The main job: register residents, take applications through intake and approval,
# and carry them through the production line as far as it is built.
demo: build
	@CCCD_DATA_DIR=$(DEMO_DIR) scripts/demo.sh $(BIN)

# Every test, against real PostgreSQL (private cluster), NATS, pcscd + vpcd and SoftHSM.
test: build
	@scripts/pcscd.sh start $(SLOTS)
	@status=0; $(GO) test -count=1 -timeout 30m ./... || status=$$?; scripts/pcscd.sh stop; exit $$status

# Short fuzzing of every parser (the seed corpora also run in `make test`).
fuzz:
	@scripts/fuzz.sh 20000x

clean:
	rm -rf bin
