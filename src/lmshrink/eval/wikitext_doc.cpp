// WikiText document split, detokenizer and word count of lm-eval's wikitext task (wikitext_doc.h).
#include "lmshrink/eval/wikitext_doc.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <sstream>

#include "lmshrink/tokenizer/utf8.h"
#include "lmshrink/util/error.h"

namespace lmshrink {

namespace {

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

std::string strip(const std::string& text) {
  size_t first = text.find_first_not_of(" \t\n\r\f\v");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t\n\r\f\v") - first + 1);
}

bool is_title(const std::string& line) {
  std::string reduced = strip(replace_all(replace_all(line, "= = =", "==="), "= =", "=="));
  return reduced.rfind("= ", 0) == 0 && reduced.size() >= 2 && reduced.compare(reduced.size() - 2, 2, " =") == 0;
}

// Python re.sub(pattern, replacement, text) with PCRE2 (UTF); replacement uses $1 for \1.
std::string regex_sub(const std::string& text, const char* pattern, const char* replacement) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern), PCRE2_ZERO_TERMINATED, PCRE2_UTF, &error,
                                   &offset, nullptr);
  LMSHRINK_CHECK(code != nullptr, "wikitext detokenizer: bad regex ", pattern);
  PCRE2_SIZE size = text.size() * 2 + 64;
  std::string out(size, '\0');
  int status = pcre2_substitute(code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), 0,
                                PCRE2_SUBSTITUTE_GLOBAL | PCRE2_SUBSTITUTE_OVERFLOW_LENGTH, nullptr, nullptr,
                                reinterpret_cast<PCRE2_SPTR>(replacement), PCRE2_ZERO_TERMINATED,
                                reinterpret_cast<PCRE2_UCHAR*>(out.data()), &size);
  if (status == PCRE2_ERROR_NOMEMORY) {
    out.assign(size, '\0');
    status = pcre2_substitute(code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), 0, PCRE2_SUBSTITUTE_GLOBAL,
                              nullptr, nullptr, reinterpret_cast<PCRE2_SPTR>(replacement), PCRE2_ZERO_TERMINATED,
                              reinterpret_cast<PCRE2_UCHAR*>(out.data()), &size);
  }
  pcre2_code_free(code);
  LMSHRINK_CHECK(status >= 0, "wikitext detokenizer: regex substitution failed (", status, ")");
  out.resize(size);
  return out;
}

}  // namespace

std::vector<std::string> wikitext_documents(const std::string& raw_text) {
  std::vector<std::string> documents;
  std::vector<std::string> lines;
  size_t start = 0;
  while (true) {  // Python str.split("\n"): a trailing newline gives a final empty line
    size_t end = raw_text.find('\n', start);
    lines.push_back(raw_text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  std::string current;
  bool any = false;
  for (const std::string& line : lines) {
    if (is_title(line)) {
      if (!strip(current).empty()) documents.push_back(current);
      current.clear(), any = false;
    }
    current += (any ? "\n" : "") + line;
    any = true;
  }
  documents.push_back(current);
  return documents;
}

std::string wikitext_detokenize(const std::string& document) {
  std::string s = replace_all(document, "s '", "s'");
  s = regex_sub(s, "/' [0-9]/", "/'[0-9]/");
  s = replace_all(replace_all(replace_all(s, " @-@ ", "-"), " @,@ ", ","), " @.@ ", ".");
  for (const char* mark : {":", ";", ".", "!", "?", ","})
    s = replace_all(s, std::string(" ") + mark + " ", std::string(mark) + " ");
  s = regex_sub(s, "\\(\\s*([^\\)]*?)\\s*\\)", "($1)");
  s = regex_sub(s, "\\[\\s*([^\\]]*?)\\s*\\]", "[$1]");
  s = regex_sub(s, "{\\s*([^}]*?)\\s*}", "{$1}");
  s = regex_sub(s, "\\\"\\s*([^\\\"]*?)\\s*\\\"", "\"$1\"");
  s = regex_sub(s, "'\\s*([^']*?)\\s*'", "'$1'");
  s = replace_all(replace_all(replace_all(s, "= = = =", "===="), "= = =", "==="), "= =", "==");
  s = replace_all(s, " \xC2\xB0 ", "\xC2\xB0");
  s = replace_all(replace_all(s, " \n", "\n"), "\n ", "\n");
  s = replace_all(s, " N ", " 1 ");
  return replace_all(s, " 's", "'s");
}

namespace {

// Python's str.isspace() code points (what \s matches in a str pattern).
bool python_space(uint32_t cp) {
  return cp == ' ' || (cp >= '\t' && cp <= '\r') || (cp >= 0x1c && cp <= 0x1f) || cp == 0x85 || cp == 0xa0 ||
         cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 || cp == 0x202f ||
         cp == 0x205f || cp == 0x3000;
}

}  // namespace

int64_t count_words(const std::string& document) {
  // re.split(r"\s+") yields one more piece than there are whitespace runs (empty pieces included).
  int64_t runs = 0;
  bool in_space = false;
  for (size_t i = 0; i < document.size();) {
    size_t length = utf8::char_length_at(document, i);
    bool space = python_space(utf8::decode_code_point(document, i, length));
    if (space && !in_space) ++runs;
    in_space = space;
    i += length;
  }
  return runs + 1;
}

}  // namespace lmshrink
