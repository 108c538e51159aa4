# chat: corporate chat and announcements module of the ERP.
# `make run` and `make test` are the two commands; see README.md.

PREFIX   ?= /usr/local
SYSCONFDIR ?= /etc/chat
CC       ?= cc
PKGS      = libpq json-c libjwt libwebsockets libcurl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo dev)

# SAN=1 builds everything with AddressSanitizer and UBSan into build/san.
ifeq ($(SAN),1)
B        := build/san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT      := -O1
else
B        := build
SANFLAGS :=
OPT      := -O2
endif

CFLAGS   ?= $(OPT) -g
ALL_CFLAGS = -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral \
             -D_GNU_SOURCE -DCHAT_VERSION='"$(VERSION)"' -Ishared -I$(B)/gen \
             $(PKG_CFLAGS) $(SANFLAGS) $(CFLAGS)
LDLIBS_ALL = -lfcgi $(PKG_LIBS) -lev -lpthread -lm
ALL_LDFLAGS = $(SANFLAGS) $(LDFLAGS)

SHARED_SRC := $(sort $(wildcard shared/core/*.c shared/wire/*.c shared/domain/*.c))
FCGI_SRC   := $(sort $(wildcard fcgi/*.c))
RTD_SRC    := $(sort $(wildcard rtd/*.c))
CRON_SRC   := $(sort $(wildcard cron/*.c))
SQL_FILES  := $(sort $(wildcard sql/*.sql))
UNIT_SRC   := $(sort $(wildcard tests/unit/test_*.c))
INTEG_SRC  := $(sort $(wildcard tests/integ/test_*.c))
INTEG_LIB  := $(sort $(wildcard tests/integ/lib_*.c))

SHARED_OBJ := $(SHARED_SRC:%.c=$(B)/obj/%.o) $(B)/obj/gen/migrations.o
FCGI_OBJ   := $(FCGI_SRC:%.c=$(B)/obj/%.o)
RTD_OBJ    := $(RTD_SRC:%.c=$(B)/obj/%.o)
CRON_OBJ   := $(CRON_SRC:%.c=$(B)/obj/%.o)
LIB        := $(B)/lib/libchat.a
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
INTEG_BIN  := $(INTEG_SRC:tests/integ/%.c=$(B)/tests/integ/%)
PROGS      := $(B)/bin/chat-fcgi $(B)/bin/chat-cron $(if $(RTD_SRC),$(B)/bin/chat-rtd)

.PHONY: all deps run start stop check test test-unit test-integ test-san clean install bench fuzz fuzz-build
.DEFAULT_GOAL := all

all: $(PROGS) $(UNIT_BIN) $(INTEG_BIN)

$(B)/obj/%.o: %.c $(wildcard shared/*/*.h fcgi/*.h rtd/*.h cron/*.h tests/unit/*.h tests/integ/*.h) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The migrations are compiled into the programs, so an installed binary
# carries the schema it needs.
$(B)/gen/migrations.c: $(SQL_FILES) scripts/embed-sql.sh
	@mkdir -p $(dir $@)
	sh scripts/embed-sql.sh $(SQL_FILES) > $@.tmp && mv $@.tmp $@

$(B)/obj/gen/migrations.o: $(B)/gen/migrations.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(SHARED_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(B)/bin/chat-fcgi: $(FCGI_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $(FCGI_OBJ) $(LIB) $(LDLIBS_ALL)

$(B)/bin/chat-rtd: $(RTD_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $(RTD_OBJ) $(LIB) $(LDLIBS_ALL)

$(B)/bin/chat-cron: $(CRON_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $(CRON_OBJ) $(LIB) $(LDLIBS_ALL)

$(B)/tests/test_%: tests/unit/test_%.c $(LIB) tests/unit/cu.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit $(ALL_LDFLAGS) -o $@ $< $(LIB) $(LDLIBS_ALL) -lcunit

# unit tests that include a program's source file
$(B)/tests/test_zipw: fcgi/zipw.c fcgi/zipw.h
$(B)/tests/test_http: fcgi/http.c fcgi/http.h

$(B)/tests/integ/test_%: tests/integ/test_%.c $(INTEG_LIB) $(LIB) $(wildcard tests/integ/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -Itests/integ $(ALL_LDFLAGS) -o $@ $< $(INTEG_LIB) $(LIB) $(LDLIBS_ALL) -lcunit

# libFuzzer harnesses (tests/fuzz/, clang) under ASan/UBSan, in build/fuzz.
# `make fuzz` runs each for FUZZ_SECONDS (default 60), one after another,
# starting from the committed seeds (tests/fuzz/corpus/<name>/) plus what
# earlier runs found (build/fuzz/corpus/<name>/); `make test` runs each
# for FUZZ_BRIEF seconds (default 2). A crash leaves its input in
# build/fuzz/ and fails the run.
FUZZ_CC    ?= clang
FUZZ_B     := build/fuzz
FUZZ_FLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined \
              -fno-omit-frame-pointer -O1 -g
FUZZ_CFLAGS = -std=gnu11 -Wall -Wextra -Werror -Wno-unknown-warning-option \
              -D_GNU_SOURCE -DCHAT_VERSION='"$(VERSION)"' -Ishared -I$(FUZZ_B)/gen \
              $(PKG_CFLAGS) $(FUZZ_FLAGS)
FUZZ_SRC   := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN   := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_B)/%)
FUZZ_OBJ   := $(SHARED_SRC:%.c=$(FUZZ_B)/obj/%.o)
FUZZ_SECONDS ?= 60
FUZZ_BRIEF ?= 2

$(FUZZ_B)/obj/%.o: %.c $(wildcard shared/*/*.h) Makefile
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_B)/libchat.a: $(FUZZ_OBJ)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_B)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_B)/libchat.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_B)/libchat.a $(LDLIBS_ALL)

fuzz-build: $(FUZZ_BIN)

fuzz: fuzz-build
	@bash scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_BIN)

deps:
	@bash scripts/deps.sh

run: deps all
	@bash scripts/stack.sh run

start: deps all
	@bash scripts/stack.sh start

stop:
	@bash scripts/stack.sh stop

# Unit tests need only the build; integration tests start their own stack
# on free ports in a temporary folder and always tear it down.
test-unit: $(UNIT_BIN)
	@bash scripts/run-tests.sh unit $(B)

test-integ: $(PROGS) $(INTEG_BIN)
	@bash scripts/run-tests.sh integ $(B)

test-san:
	$(MAKE) SAN=1 all
	@bash scripts/run-tests.sh unit build/san
	@bash scripts/run-tests.sh integ build/san

# The include layering of shared/ (shared/README.md) and the one event vocabulary.
check:
	@bash scripts/check-layers.sh
	@bash scripts/check-events.sh
	@bash scripts/check-json.sh

test: deps check
	$(MAKE) all
	@bash scripts/run-tests.sh all build
	$(MAKE) fuzz-build
	@bash scripts/fuzz.sh $(FUZZ_BRIEF) $(FUZZ_BIN)

bench: deps all
	@bash scripts/bench.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(SYSCONFDIR) $(DESTDIR)$(PREFIX)/share/chat/www
	install -m 755 $(PROGS) $(DESTDIR)$(PREFIX)/bin/
	@# an existing config is the operator's: never overwrite it
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/chat.conf ]; then \
	    install -m 640 etc/chat.conf $(DESTDIR)$(SYSCONFDIR)/chat.conf.dist; \
	    echo "kept $(DESTDIR)$(SYSCONFDIR)/chat.conf; the shipped one is chat.conf.dist"; \
	else install -m 640 etc/chat.conf $(DESTDIR)$(SYSCONFDIR)/chat.conf; fi
	cp -r etc $(DESTDIR)$(PREFIX)/share/chat/
	cp -r www/. $(DESTDIR)$(PREFIX)/share/chat/www/

clean:
	-@bash scripts/stack.sh stop 2>/dev/null
	rm -rf build var
