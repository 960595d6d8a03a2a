# The two commands (see README): `make demo` and `make test`.
# The Makefile drives CMake; build trees live under build/.
BUILD_RELEASE ?= build/release
BUILD_TEST ?= build/asan
PORT ?= 8080
BIND ?= 127.0.0.1
DEMO_DB ?= sample-data/demo.sqlite
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: demo test build deps deps-test test-tsan bench clean web

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

test: deps-test
	cmake -S . -B $(BUILD_TEST) -DCMAKE_BUILD_TYPE=Debug -DMAPD_ASAN=ON -DMAPD_UBSAN=ON -DMAPD_WERROR=ON
	cmake --build $(BUILD_TEST) -j $(JOBS)
	cd $(BUILD_TEST) && ctest --output-on-failure -j $(JOBS)

test-tsan: deps-test
	cmake -S . -B build/tsan -DCMAKE_BUILD_TYPE=Debug -DMAPD_TSAN=ON -DMAPD_NODE_TESTS=OFF
	cmake --build build/tsan -j $(JOBS)
	cd build/tsan && ctest --output-on-failure -L concurrency

clean:
	rm -rf build
