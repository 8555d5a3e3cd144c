// lm-eval-harness 0.4's `wikitext` task on the raw WikiText-2 test file (wiki.test.raw):
//  - documents: the file split before every top-level heading line " = Title = " (a line that, with
//    "= = =" -> "===" and "= =" -> "==" and stripped, starts with "= " and ends with " ="), as
//    EleutherAI/wikitext_document_level builds them (62 test documents);
//  - the text scored is wikitext_detokenizer(document) (lm_eval/tasks/wikitext/preprocess_wikitext.py);
//  - words are counted on the ORIGINAL document as len(re.split(r"\s+", doc)), bytes as its UTF-8 length.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace lmshrink {

std::vector<std::string> wikitext_documents(const std::string& raw_text);
std::string wikitext_detokenize(const std::string& document);
int64_t count_words(const std::string& document);  // Python len(re.split(r"\s+", document))

}  // namespace lmshrink
