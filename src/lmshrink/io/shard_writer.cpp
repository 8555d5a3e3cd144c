// Sharded safetensors output (see shard_writer.h).
#include "lmshrink/io/shard_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <limits>

#include "lmshrink/io/atomic_file.h"
#include "lmshrink/io/safetensors.h"
#include "lmshrink/util/error.h"
#include "lmshrink/util/kill_point.h"

namespace lmshrink {

namespace fs = std::filesystem;

int64_t parse_byte_size(const std::string& text, const std::string& what) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  std::string unit = text.substr(digits);
  const std::pair<const char*, int64_t> units[] = {{"", 1},          {"B", 1},           {"KB", 1000},
                                                   {"MB", 1000000},  {"GB", 1000000000}, {"KIB", 1024},
                                                   {"MIB", 1 << 20}, {"GIB", 1 << 30}};
  for (char& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const auto& [name, scale] : units) {
    if (digits == 0 || digits > 15 || unit != name) continue;
    int64_t number = std::stoll(text.substr(0, digits));
    LMSHRINK_CHECK(number <= std::numeric_limits<int64_t>::max() / scale, what, ": ", text, " is too large");
    int64_t value = number * scale;
    LMSHRINK_CHECK(value > 0, what, ": must be positive, got ", text);
    return value;
  }
  fail(what, ": expected a size such as 5GB, 500MB, 2GiB or a byte count, got '", text, "'");
}

namespace {

void write_all(std::FILE* file, const void* data, size_t bytes, const std::string& path) {
  LMSHRINK_CHECK(std::fwrite(data, 1, bytes, file) == bytes, path, ": write failed: ", std::strerror(errno));
}

// Appends the data file's bytes to `out` in the kernel (copy_file_range), falling back to read/write.
void append_file(const std::string& data_path, std::FILE* out, const std::string& out_path) {
  LMSHRINK_CHECK(std::fflush(out) == 0, out_path, ": write failed: ", std::strerror(errno));
  int in = ::open(data_path.c_str(), O_RDONLY);
  LMSHRINK_CHECK(in >= 0, data_path, ": cannot reopen the shard data");
  struct stat st {};
  ::fstat(in, &st);
  int64_t left = st.st_size;
  while (left > 0) {
    ssize_t copied = ::copy_file_range(in, nullptr, ::fileno(out), nullptr, static_cast<size_t>(left), 0);
    if (copied <= 0) break;
    left -= copied;
  }
  std::vector<char> buffer(1 << 20);
  ::lseek(in, st.st_size - left, SEEK_SET);
  ::lseek(::fileno(out), 0, SEEK_END);
  while (left > 0) {
    ssize_t got = ::read(in, buffer.data(), buffer.size());
    LMSHRINK_CHECK(got > 0, data_path, ": read failed");
    LMSHRINK_CHECK(::write(::fileno(out), buffer.data(), got) == got, out_path, ": write failed: ", std::strerror(errno));
    left -= got;
  }
  ::close(in);
}

std::string shard_name(size_t index, size_t count) {
  char name[64];
  std::snprintf(name, sizeof(name), "model-%05zu-of-%05zu.safetensors", index + 1, count);
  return name;
}

}  // namespace

ShardWriter::ShardWriter(std::string dir, int64_t shard_bytes, std::map<std::string, std::string> metadata)
    : dir_(std::move(dir)), shard_bytes_(shard_bytes), metadata_(std::move(metadata)) {
  LMSHRINK_CHECK(shard_bytes_ > 0, "shard size must be positive, got ", shard_bytes_);
}

ShardWriter::~ShardWriter() {
  if (data_) std::fclose(data_);
  if (!data_path_.empty()) std::remove(data_path_.c_str());
  if (finished_) return;
  for (const Shard& shard : shards_) std::remove(shard.path.c_str());
}

void ShardWriter::add(const std::string& name, const at::Tensor& tensor) {
  LMSHRINK_CHECK(!finished_ && name != "__metadata__" && !seen_.count(name), "shard writer: duplicate or reserved name ", name);
  seen_[name] = 1;
  at::Tensor c = tensor.detach().to(torch::kCPU).contiguous();
  int64_t bytes = c.numel() * static_cast<int64_t>(c.element_size());
  if (data_ && open_bytes_ > 0 && open_bytes_ + bytes > shard_bytes_) close_shard();
  if (!data_) {
    data_path_ = (fs::path(dir_) / (".shard-" + std::to_string(shards_.size() + 1) + ".data")).string();
    data_ = std::fopen(data_path_.c_str(), "wb");
    LMSHRINK_CHECK(data_ != nullptr, data_path_, ": cannot create file (folder missing or not writable?)");
    header_ = nlohmann::json::object();
    if (!metadata_.empty()) header_["__metadata__"] = metadata_;
    open_names_.clear();
    open_bytes_ = 0;
  }
  header_[name] = {{"dtype", safetensors_dtype_name(c.scalar_type(), name)}, {"shape", c.sizes().vec()},
                   {"data_offsets", {open_bytes_, open_bytes_ + bytes}}};
  write_all(data_, c.data_ptr(), static_cast<size_t>(bytes), data_path_);
  open_bytes_ += bytes;
  tensor_bytes_ += bytes;
  open_names_.push_back(name);
}

void ShardWriter::close_shard() {
  LMSHRINK_CHECK(std::fflush(data_) == 0, data_path_, ": write failed: ", std::strerror(errno));
  std::fclose(data_);
  data_ = nullptr;
  std::string path = (fs::path(dir_) / (".shard-" + std::to_string(shards_.size() + 1) + ".safetensors")).string();
  std::string header = header_.dump();
  header.append((8 - header.size() % 8) % 8, ' ');
  std::FILE* out = std::fopen(path.c_str(), "wb");
  LMSHRINK_CHECK(out != nullptr, path, ": cannot create file");
  shards_.push_back(Shard{path, open_names_});  // removed by the destructor from here on
  uint8_t length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<uint8_t>(static_cast<uint64_t>(header.size()) >> (8 * i));
  write_all(out, length, 8, path);
  write_all(out, header.data(), header.size(), path);
  append_file(data_path_, out, path);
  bool synced = ::fsync(::fileno(out)) == 0;
  bool closed = std::fclose(out) == 0;
  LMSHRINK_CHECK(synced && closed, path, ": write failed: ", std::strerror(errno));
  std::remove(data_path_.c_str());
  data_path_.clear();
  file_bytes_ += 8 + static_cast<int64_t>(header.size()) + open_bytes_;
  kill_point("shard-written");
}

int64_t ShardWriter::finish() {
  LMSHRINK_CHECK(!finished_, "shard writer: finish called twice");
  if (data_) close_shard();
  LMSHRINK_CHECK(!shards_.empty(), "shard writer: no tensors were written");
  nlohmann::json weight_map = nlohmann::json::object();
  for (size_t i = 0; i < shards_.size(); ++i) {
    std::string name = shards_.size() == 1 ? "model.safetensors" : shard_name(i, shards_.size());
    std::string target = (fs::path(dir_) / name).string();
    LMSHRINK_CHECK(std::rename(shards_[i].path.c_str(), target.c_str()) == 0, target, ": rename failed");
    shards_[i].path = target;
    for (const std::string& tensor : shards_[i].names) weight_map[tensor] = name;
  }
  if (shards_.size() > 1) {
    nlohmann::json index = {{"metadata", {{"total_size", tensor_bytes_}}}, {"weight_map", weight_map}};
    write_text_atomic((fs::path(dir_) / "model.safetensors.index.json").string(), index.dump(2) + "\n");
  }
  finished_ = true;
  return file_bytes_;
}

}  // namespace lmshrink
