// lm-eval's wikitext task: the document split of wiki.test.raw (62 documents, as
// EleutherAI/wikitext_document_level has), the detokenizer on hand-made strings, Python's word count,
// and rolling windows that score every token exactly once (checked against a closed form on a
// bigram fake model, for which the rolling log-likelihood must equal the plain chain-rule sum).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "eval/fake_lm.h"
#include "lmshrink/eval/rolling_perplexity.h"
#include "lmshrink/eval/wikitext_doc.h"
#include "test_support.h"

namespace lmshrink {
namespace {

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(WikitextDoc, TestSplitHas62DocumentsThatStartWithTheirTitle) {
  std::string raw = read(testing::shared_path("data/wikitext2/wiki.test.raw"));
  std::vector<std::string> docs = wikitext_documents(raw);
  EXPECT_EQ(docs.size(), 62u);
  EXPECT_EQ(docs[0].rfind(" = Robert Boulter = ", 0), 0u) << docs[0].substr(0, 40);
  std::string joined;  // nothing lost or duplicated but the whitespace-only line before the first title
  for (const std::string& d : docs) joined += (joined.empty() ? "" : "\n") + d;
  EXPECT_EQ(joined, raw.substr(raw.find(" = Robert Boulter = ")));
}

TEST(WikitextDoc, DetokenizerMatchesLmEvalOnHandMadeStrings) {
  EXPECT_EQ(wikitext_detokenize("1 @,@ 000 and 2 @.@ 5 @-@ fold"), "1,000 and 2.5-fold");
  EXPECT_EQ(wikitext_detokenize("a , b . c ; d : e ! f ? g"), "a, b. c; d: e! f? g");
  EXPECT_EQ(wikitext_detokenize("( in brackets ) [ x ] \" quoted \""), "(in brackets) [x] \"quoted\"");
  EXPECT_EQ(wikitext_detokenize(" = = Heading = = \n text"), " == Heading ==\ntext");
  EXPECT_EQ(wikitext_detokenize("the dog 's bone ; the players ' kit"), "the dog's bone; the players' kit");
  EXPECT_EQ(wikitext_detokenize("won N games"), "won 1 games");
}

TEST(WikitextDoc, WordCountIsPythonReSplitOnWhitespace) {
  EXPECT_EQ(count_words("a b  c"), 3);
  EXPECT_EQ(count_words(" a b\n"), 4);  // leading and trailing empty pieces count
  EXPECT_EQ(count_words(""), 1);
  EXPECT_EQ(count_words("a\xC2\xA0" "b"), 2);  // U+00A0 is whitespace to Python's \s
}

TEST(RollingWindows, EveryTokenIsPredictedOnceWithAtMostTheContext) {
  std::vector<int32_t> tokens;
  for (int i = 0; i < 23; ++i) tokens.push_back(10 + i);
  std::vector<LoglikRequest> windows = rolling_windows(tokens, 1, 8);
  std::vector<int32_t> predicted;
  for (const LoglikRequest& w : windows) {
    EXPECT_LE(w.context.size() + w.continuation.size(), 9u);
    predicted.insert(predicted.end(), w.continuation.begin(), w.continuation.end());
  }
  EXPECT_EQ(predicted, tokens);
  ASSERT_EQ(windows.size(), 3u);
  EXPECT_EQ(windows[0].context, std::vector<int32_t>{1});
  EXPECT_EQ(windows[2].continuation.size(), 7u);
  EXPECT_EQ(windows[2].context.size() + windows[2].continuation.size(), 9u);  // full context for the tail
}

TEST(RollingWindows, BigramModelGivesTheChainRuleSum) {
  testing::ByteTokenizer tokenizer;
  testing::FakeLm model(16, 0.0);
  std::string doc = " = Title = \n some words here , and more words that run past one window of sixteen tokens .";
  RollingPerplexity r = wikitext_word_perplexity(model, tokenizer, doc, 0, 3);
  std::vector<int32_t> tokens = tokenizer.encode(wikitext_detokenize(doc), false, false);
  double expected = 0.0;
  int32_t prev = tokenizer.bos_id();
  for (int32_t t : tokens) expected += testing::fake_log_prob(prev, t, 0, 0.0, 259), prev = t;
  EXPECT_NEAR(r.loglikelihood, expected, 1e-3);
  EXPECT_EQ(r.documents, 1);
  EXPECT_EQ(r.words, count_words(doc));
  EXPECT_EQ(r.bytes, static_cast<int64_t>(doc.size()));
  EXPECT_NEAR(r.word_perplexity, std::exp(-expected / r.words), 1e-6 * r.word_perplexity);
  EXPECT_NEAR(r.bits_per_byte, -expected / r.bytes / std::log(2.0), 1e-6);
}

}  // namespace
}  // namespace lmshrink
