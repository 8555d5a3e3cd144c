// Named steps at which a test may kill the process (issue 21, crash tests): when the environment
// variable LMSHRINK_KILL_AT equals a step's name, the process sends itself SIGKILL there, so a
// test reaches every step of an output write deterministically. Unset (every real run), it does
// nothing but one string comparison.
//
// Steps: "staging-created", "block-written", "shard-written", "before-replace", "after-aside",
// "after-exchange" (see io/atomic_file.cpp, io/hf_model.cpp, io/shard_writer.cpp). "after-aside" is
// on the path for file systems without renameat2(RENAME_EXCHANGE); LMSHRINK_TEST_NO_EXCHANGE=1 takes it.
#pragma once

namespace lmshrink {

void kill_point(const char* step);

}  // namespace lmshrink
