// libFuzzer: run and eval records as `lmshrink report` reads them (eval/report.h), then both renderings. The input
// holds one or two records, split at the first blank line, so an eval can meet the run that made its model.
#include "fuzz_common.h"
#include "lmshrink/eval/report.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(lmshrink::fuzz::bytes_of(data, size));
  std::vector<std::pair<std::string, std::string>> records;
  size_t split = text.find("\n\n");
  if (split == std::string::npos) {
    records.emplace_back("lmshrink_run.json", text);
  } else {
    records.emplace_back("lmshrink_run.json", text.substr(0, split));
    records.emplace_back("eval.json", text.substr(split + 2));
  }
  lmshrink::fuzz::expect_clean([&] {
    lmshrink::Report report = lmshrink::report_from_records(records);
    (void)lmshrink::report_markdown(report);
    (void)lmshrink::report_html(report);
  });
  return 0;
}
