#!/usr/bin/env bash
# gotestsum's --post-run-command for `make test`: one last line with the
# counts (gotestsum has just listed every failure and every skip, each with
# the reason its test gave). gotestsum sets the TESTS_* variables.
total=${TESTS_TOTAL:-0} failed=${TESTS_FAILED:-0} skipped=${TESTS_SKIPPED:-0} errors=${TESTS_ERRORS:-0}
passed=$((total - failed - skipped))
echo "make test: ${passed} passed, ${failed} failed, ${skipped} skipped, ${errors} package errors (of ${total} tests)"
if [ "$skipped" -gt 0 ]; then
  echo "make test: the skipped tests are listed above under \"=== Skipped\", each with what it needs"
fi
