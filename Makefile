# Wharf build. Plain GNU Make: one command (`make`) builds the release binary,
# `make san` the AddressSanitizer + UBSan build the tests use, `make test` runs
# every test. Sources are picked up by wildcard, so adding a file needs no edit here.

CC      ?= cc
PKGS    := jansson libevent libevent_pthreads yaml-0.1 sqlite3 libcrypto libcurl
CSTD    := -std=c11 -D_GNU_SOURCE
WARN    := -Wall -Wextra -Werror -Wno-unused-parameter -Wno-format-truncation -Wshadow -Wstrict-prototypes -Wmissing-prototypes
INC     := -Isrc
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS)) -lpthread -ldl -lm
# Bind every symbol at start: the agent forks a shim per container, and a
# forked shim would otherwise resolve its library calls again, each time.
BIN_LDFLAGS := -Wl,-z,now

LIB_SRC := $(wildcard src/lib/*.c src/store/*.c src/registry/*.c src/api/*.c src/client/*.c src/agent/*.c src/controllers/*.c src/scheduler/*.c)
MAIN_SRC := src/main.c
UNIT_SRC := $(wildcard tests/unit/test_*.c)
BENCH_SRC := $(wildcard bench/*.c)

# Release build ------------------------------------------------------------
REL     := build/release
REL_CFLAGS := $(CSTD) $(WARN) $(INC) $(PKG_CFLAGS) -O2 -g -MMD -MP
REL_OBJ := $(LIB_SRC:%.c=$(REL)/%.o)

# Sanitizer build (tests) --------------------------------------------------
SAN     := build/san
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
SAN_CFLAGS := $(CSTD) $(WARN) $(INC) $(PKG_CFLAGS) -O1 -g $(SAN_FLAGS) -MMD -MP
SAN_OBJ := $(LIB_SRC:%.c=$(SAN)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(SAN)/tests/%)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(REL)/bench/%)

.PHONY: all san test unit integration bench clean format
all: $(REL)/wharf

$(REL)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) -c $< -o $@

$(REL)/libwharf.a: $(REL_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(REL)/wharf: $(REL)/src/main.o $(REL)/libwharf.a
	$(CC) $(BIN_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(SAN)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) -c $< -o $@

$(SAN)/libwharf.a: $(SAN_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(SAN)/wharf: $(SAN)/src/main.o $(SAN)/libwharf.a
	$(CC) $(SAN_FLAGS) $(BIN_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(SAN)/tests/%: tests/unit/%.c $(SAN)/libwharf.a
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) $(shell pkg-config --cflags cmocka) -o $@ $< $(SAN)/libwharf.a $(PKG_LIBS) $(shell pkg-config --libs cmocka)

$(REL)/bench/%: bench/%.c $(REL)/libwharf.a
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) -o $@ $< $(REL)/libwharf.a $(PKG_LIBS)

# A stand-in for libnvidia-ml.so.1, loaded by the GPU tests through dlopen.
$(SAN)/tests/libfake_nvml.so: tests/fake_nvml/fake_nvml.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) -O1 -g -shared -fPIC -o $@ $<

san: $(SAN)/wharf $(UNIT_BIN) $(SAN)/tests/libfake_nvml.so

bench: $(REL)/wharf $(BENCH_BIN)

# Every test: unit tests and integration tests against the sanitizer binary.
test: san
	tests/run.sh

unit: $(UNIT_BIN)
	tests/run.sh unit

format:
	clang-format -i $(LIB_SRC) $(MAIN_SRC) $(wildcard src/*/*.h) $(UNIT_SRC) $(BENCH_SRC)

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
