# A thin driver for CMake (as neovim's is): `make run` and `make test` are
# the README's two commands; everything else is CMake's.
BUILD_DIR ?= build
SAN_DIR ?= build-sanitize
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps build run test test-sanitize bench-deadline bench-timers bench-ingest bench-reporting bench-reporting-history bench-mail format clean

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null
	@cmake --build $(BUILD_DIR) -j $(JOBS)

# KAFKA=apache make run: the same on Apache Kafka (scripts/kafka.sh, one node).
run: build
	@bash scripts/run.sh

test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j 1

# The whole suite again, built with AddressSanitizer and UndefinedBehaviorSanitizer.
test-sanitize: deps
	@cmake -S . -B $(SAN_DIR) -DCMAKE_BUILD_TYPE=Debug -DCHARTER_SANITIZE=ON >/dev/null
	@cmake --build $(SAN_DIR) -j $(JOBS)
	@cd $(SAN_DIR) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j 1

# Deadline computations per second on one core (see docs/benchmarks.md).
bench-deadline: build
	@$(BUILD_DIR)/bench/bench_deadline 2 5

# Charter's timer store vs BullMQ and Sidekiq on one redis-server, installing
# what they need (see bench/timers/README.md and docs/benchmarks.md).
# KAFKA=embedded or KAFKA=apache: Charter's fired timers are written to that
# broker, as sla-timer writes them (unset: no Kafka on the path).
bench-timers: deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null
	@cmake --build $(BUILD_DIR) -j $(JOBS) --target bench_timers_charter charter-broker
	@bash bench/timers/run.sh $(BUILD_DIR)

# charter-ingest posting signed contacts vs an nginx `return 204`, side by side
# with wrk, installing what it needs (see bench/ingest/README.md and docs/benchmarks.md).
# KAFKA=apache: on Apache Kafka (one node, scripts/kafka.sh) instead of charter-broker.
bench-ingest: deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null
	@cmake --build $(BUILD_DIR) -j $(JOBS) --target charter-ingest charter-broker
	@bash bench/ingest/run.sh $(BUILD_DIR)

# charter-reporting aggregating pre-loaded case events (events/s), then the
# latency from an event to its figure on GET /v1/report at 10,000 events/s
# (see bench/reporting/README.md and docs/benchmarks.md).
bench-reporting: deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null
	@cmake --build $(BUILD_DIR) -j $(JOBS) --target charter-reporting charter-broker bench_reporting
	@bash bench/reporting/run.sh $(BUILD_DIR)

# reporting's Redis time per dashboard request as the history grows from one
# month to three years, beside main's single-hash layout (MAIN_BUILD: a build
# of main; else main is built in a git worktree; bench/reporting/README.md).
bench-reporting-history: deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null
	@cmake --build $(BUILD_DIR) -j $(JOBS) --target charter-reporting charter-broker bench_reporting
	@bash bench/reporting/history.sh $(BUILD_DIR)

# charter-ingest's mail listener taking a burst that a Postfix of its own delivers (LMTP
# and SMTP), beside the same Postfix delivering it to Postfix's smtp-sink; messages/s and
# p50/p99 from the end of DATA to the event on Kafka (bench/mail/README.md, docs/benchmarks.md).
# Needs root (its own Postfix instance, never the system's). KAFKA=apache as bench-ingest.
bench-mail: deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null
	@cmake --build $(BUILD_DIR) -j $(JOBS) --target charter-ingest charter-broker
	@bash bench/mail/run.sh $(BUILD_DIR)

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD_DIR) $(SAN_DIR)
