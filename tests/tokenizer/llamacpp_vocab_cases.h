// llama.cpp's tokenizer test pairs (../shared/tokenizers/llamacpp-vocab-tests): NAME.inp holds the inputs separated by
// "\n__ggml_vocab_test__\n" (the file also ends with one, so the last split is empty), NAME.out one line of
// space-separated ids per input. Read by the tokenizer.json tests and the GGUF tokenizer tests.
#pragma once
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_support.h"

namespace lmshrink::testing {

struct VocabCase {
  std::string input;
  std::vector<int32_t> expected;
};

inline std::vector<VocabCase> read_vocab_cases(const std::string& name) {
  std::string inputs = slurp(shared_path("tokenizers/llamacpp-vocab-tests/" + name + ".inp"));
  std::ifstream outputs(shared_path("tokenizers/llamacpp-vocab-tests/" + name + ".out"));
  const std::string separator = "\n__ggml_vocab_test__\n";
  std::vector<VocabCase> cases;
  size_t pos = 0;
  for (size_t found; (found = inputs.find(separator, pos)) != std::string::npos; pos = found + separator.size()) {
    VocabCase vocab_case;
    vocab_case.input = inputs.substr(pos, found - pos);
    std::string line;
    if (!std::getline(outputs, line)) throw std::runtime_error(name + ".out has fewer lines than inputs");
    std::istringstream ids(line);
    for (int32_t id; ids >> id;) vocab_case.expected.push_back(id);
    cases.push_back(std::move(vocab_case));
  }
  EXPECT_EQ(pos, inputs.size()) << name << ".inp: text after the last separator";
  return cases;
}

}  // namespace lmshrink::testing
