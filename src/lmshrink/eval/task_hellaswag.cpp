// HellaSwag in llama.cpp's --hellaswag text format (bzip2): six lines per task — the context
// ("activity_label: ctx", already preprocessed as lm-eval's hellaswag preprocess() does, except that
// ctx_b is not capitalised; data/README.md), the gold index 0-3, then the four endings. lm-eval
// prompt: context -> " " + ending; acc_norm is the usual headline metric.
#include <bzlib.h>

#include <sstream>

#include "lmshrink/eval/task.h"
#include "lmshrink/util/error.h"

namespace lmshrink {

namespace {

std::string decompress_bzip2(const std::string& packed, const std::string& path) {
  bz_stream stream{};
  LMSHRINK_CHECK(BZ2_bzDecompressInit(&stream, 0, 0) == BZ_OK, path, ": bzip2 init failed");
  stream.next_in = const_cast<char*>(packed.data());  // bzlib reads next_in only
  stream.avail_in = static_cast<unsigned>(packed.size());
  std::string text;
  char buffer[1 << 16];
  int status = BZ_OK;
  while (status == BZ_OK) {
    stream.next_out = buffer;
    stream.avail_out = sizeof(buffer);
    status = BZ2_bzDecompress(&stream);
    text.append(buffer, sizeof(buffer) - stream.avail_out);
    if (status == BZ_OK && stream.avail_in == 0 && stream.avail_out != 0) break;  // truncated input
  }
  BZ2_bzDecompressEnd(&stream);
  LMSHRINK_CHECK(status == BZ_STREAM_END, path, ": not a complete bzip2 stream (error ", status, ")");
  return text;
}

}  // namespace

TaskData read_hellaswag(const std::string& path) { return parse_hellaswag(read_task_file(path), path); }

TaskData parse_hellaswag(const std::string& bzip2_bytes, const std::string& path) {
  TaskData task = describe_task("hellaswag", TaskKind::kChoice, path, "acc_norm",
      "lm-eval hellaswag on llama.cpp's preprocessed text: {activity_label}: {ctx} -> ' ' + ending", true);
  std::istringstream lines(decompress_bzip2(bzip2_bytes, path));
  std::vector<std::string> block;
  std::string line;
  int64_t number = 0;
  while (std::getline(lines, line)) {
    ++number;
    block.push_back(line);
    if (block.size() < 6) continue;
    std::string where = path + ":" + std::to_string(number - 4);
    LMSHRINK_CHECK(block[1].size() == 1 && block[1][0] >= '0' && block[1][0] <= '3', where,
                   ": expected the gold index 0-3, got '", block[1], "'");
    task.items.push_back({{block[0]}, {block[2], block[3], block[4], block[5]}, block[1][0] - '0', ""});
    block.clear();
  }
  LMSHRINK_CHECK(block.empty(), path, ":", number, ": truncated task (", block.size(), " of 6 lines)");
  return task;
}

}  // namespace lmshrink
