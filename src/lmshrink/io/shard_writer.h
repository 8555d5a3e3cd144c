// Sharded safetensors output, written as the tensors arrive (DESIGN.md "Scale": output written shard by shard as
// blocks finish). Tensors go straight to disk: each shard's data is appended to a temp file in the output folder, and
// when the shard is full (the next tensor would pass shard_bytes) its header is written in front of the data (an
// in-kernel copy) as it is in Hugging Face's layout. finish() names the shards model-0000k-of-0000n.safetensors and
// writes model.safetensors.index.json ({"metadata": {"total_size"}, "weight_map"}), or names a single shard
// model.safetensors with no index, as transformers' save_pretrained does. Memory held: one tensor at a time.
// The folder is meant to be an AtomicDirectory's staging folder: a failure (a full disk included) throws naming the
// file, and the unfinished files are removed with that folder.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lmshrink {

constexpr int64_t kDefaultShardBytes = 5000000000;  // 5 GB, transformers' default max_shard_size

// "5GB", "500MB", "2GiB", "1000000" (bytes): a positive size; throws naming `what` otherwise.
int64_t parse_byte_size(const std::string& text, const std::string& what);

class ShardWriter {
 public:
  // metadata: each shard's "__metadata__".
  ShardWriter(std::string dir, int64_t shard_bytes, std::map<std::string, std::string> metadata = {{"format", "pt"}});
  ~ShardWriter();
  ShardWriter(const ShardWriter&) = delete;
  ShardWriter& operator=(const ShardWriter&) = delete;

  // Writes the tensor now (a contiguous CPU copy only when it is not one already). Names must be unique.
  void add(const std::string& name, const at::Tensor& tensor);
  // Closes the last shard, names the shards and writes the index. Returns the bytes of all shard files.
  int64_t finish();
  int64_t tensor_bytes() const { return tensor_bytes_; }  // data bytes added so far

 private:
  struct Shard {
    std::string path;    // the finished shard, before its final name
    std::vector<std::string> names;
  };
  void close_shard();

  std::string dir_;
  int64_t shard_bytes_;
  std::FILE* data_ = nullptr;  // the open shard's data
  std::string data_path_;
  std::map<std::string, std::string> metadata_;
  nlohmann::json header_;      // the open shard's entries
  std::vector<std::string> open_names_;
  int64_t open_bytes_ = 0;
  std::vector<Shard> shards_;
  std::map<std::string, int> seen_;
  int64_t tensor_bytes_ = 0;
  int64_t file_bytes_ = 0;
  bool finished_ = false;
};

}  // namespace lmshrink
