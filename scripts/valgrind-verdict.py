#!/usr/bin/env python3
"""Reads a valgrind memcheck log and decides (scripts/test-memory.sh).

Fails on every invalid read, write or free, mismatched free or overlapping
copy, and on every definite leak whose block was allocated by C code
(malloc from the host's alloc, strdup, a plugin, libgit2, jansson). A
definite leak of a Swift object (allocated through swift_allocObject) is
not counted: Swift keeps flags in the spare bits of its pointers, so
valgrind cannot see every reference to a live Swift object, and reports
objects still in use at exit as lost. Prints the failing records.
"""
import re
import sys

ERRORS = re.compile(r"^==\d+== (Invalid (read|write|free)|Mismatched free|Source and destination overlap)")
LEAK = re.compile(r"^==\d+== .* bytes in \d+ blocks are definitely lost")


def records(lines):
    record = []
    for line in lines:
        if re.match(r"^==\d+== $", line.rstrip("\n")):
            if record:
                yield record
            record = []
        else:
            record.append(line.rstrip("\n"))
    if record:
        yield record


def main():
    failing = []
    for record in records(open(sys.argv[1], errors="replace")):
        head = record[0]
        if ERRORS.match(head):
            failing.append(record)
        elif LEAK.match(head) and not any("swift_allocObject" in line or "swift_slowAlloc" in line for line in record):
            failing.append(record)
    for record in failing:
        print("\n".join(record))
        print()
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
