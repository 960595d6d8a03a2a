# The two commands (see README): `make demo` and `make test`.
# The Makefile drives CMake; build trees live under build/.
BUILD_RELEASE ?= build/release
BUILD_TEST ?= build/asan
PORT ?= 8080
BIND ?= 127.0.0.1
DEMO_DB ?= sample-data/demo.sqlite
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: demo test build deps deps-test test-tsan test-valgrind bench clean web cluster-demo cluster-down cluster-status

deps:
	@bash scripts/deps.sh build

deps-test:
	@bash scripts/deps.sh test

build: deps
	cmake -S . -B $(BUILD_RELEASE) -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF
	cmake --build $(BUILD_RELEASE) -j $(JOBS)

# The web map's MapLibre GL JS, from web/package-lock.json (again when the lock changes).
web/node_modules/.package-lock.json: web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error

web: deps web/node_modules/.package-lock.json

demo: build web
	@[ -f $(DEMO_DB) ] || $(BUILD_RELEASE)/mapd/mapd sample --db $(DEMO_DB)
	$(BUILD_RELEASE)/mapd/mapd serve --db $(DEMO_DB) --port $(PORT) --bind $(BIND) --web web

# A cluster on loopback (docs/scaling.md): PostgreSQL primary + streaming replica,
# the sample city, three mapd nodes and nginx in front; prints the web map's URL
# (http://127.0.0.1:8090/). CLUSTER_DIR, CLUSTER_PORT, ...: see scripts/cluster.sh.
cluster-demo: build web
	@bash scripts/deps.sh cluster
	MAPD_BIN=$(BUILD_RELEASE)/mapd/mapd bash scripts/cluster.sh up

cluster-status:
	@bash scripts/cluster.sh status

cluster-down:
	@bash scripts/cluster.sh down

# The release build (what `make demo` runs) first: -O2 finds warnings the Debug build does not.
test: deps-test build web
	cmake -S . -B $(BUILD_TEST) -DCMAKE_BUILD_TYPE=Debug -DMAPD_ASAN=ON -DMAPD_UBSAN=ON -DMAPD_WERROR=ON
	cmake --build $(BUILD_TEST) -j $(JOBS)
	cd $(BUILD_TEST) && ctest --output-on-failure -j $(JOBS)

# ThreadSanitizer: the server and the tests labelled `concurrency` (many
# client threads against one server; the server exits 66 on any race report).
BUILD_TSAN ?= build/h-tsan
test-tsan: deps-test
	cmake -S . -B $(BUILD_TSAN) -DCMAKE_BUILD_TYPE=Debug -DMAPD_TSAN=ON -DMAPD_NODE_TESTS=OFF
	cmake --build $(BUILD_TSAN) -j $(JOBS) --target mapd test_integration_concurrency
	cd $(BUILD_TSAN) && TSAN_OPTIONS="halt_on_error=0 exitcode=66 second_deadlock_stack=1" \
	  ctest --output-on-failure -L concurrency

# Valgrind memcheck: the C integration tests with their server under
# valgrind (MAPD_VALGRIND=1, see tests/integration/harness.c); any error or
# definite/indirect leak fails. Needs a build without ASan.
BUILD_VALGRIND ?= build/h-valgrind
VALGRIND_TESTS ?= integration/(server|limits|faults|concurrency|tiles|queries|ogc|stats|import)$$
test-valgrind: deps-test
	@command -v valgrind >/dev/null || bash scripts/deps.sh fuzz
	cmake -S . -B $(BUILD_VALGRIND) -DCMAKE_BUILD_TYPE=Debug -DMAPD_NODE_TESTS=OFF
	cmake --build $(BUILD_VALGRIND) -j $(JOBS)
	cd $(BUILD_VALGRIND) && MAPD_VALGRIND=1 ctest --output-on-failure --timeout 3000 -R '$(VALGRIND_TESTS)'

clean:
	rm -rf build
