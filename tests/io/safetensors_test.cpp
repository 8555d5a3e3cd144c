// safetensors: round trip through the writer, zero-copy reads, and one clear error per kind of
// malformed file (header past EOF, not JSON / not '{', overlaps, holes, out-of-range offsets,
// unknown dtype, shape x dtype != byte range, missing index entries), and exact integer round trips.
#include "lmshrink/io/safetensors.h"

#include <gtest/gtest.h>

#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "lmshrink/io/hf_model.h"
#include "lmshrink/util/error.h"
#include "test_support.h"

namespace {

std::string raw_file(const std::string& tag, const std::string& header, size_t data_bytes) {
  std::string bytes(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(n >> (8 * i));
  bytes += header + std::string(data_bytes, '\x01');
  auto path = (lmshrink::testing::temp_dir("st_" + tag) / "model.safetensors").string();
  std::ofstream(path, std::ios::binary).write(bytes.data(), bytes.size());
  return path;
}

std::string error_of(const std::string& path) {
  try {
    lmshrink::SafetensorsFile file(path);
  } catch (const lmshrink::Error& e) {
    return e.what();
  }
  return "";
}

TEST(SafetensorsTest, WriterRoundTripsDtypesShapesAndMetadata) {
  auto dir = lmshrink::testing::temp_dir("st_roundtrip");
  std::string path = (dir / "t.safetensors").string();
  at::Tensor a = torch::arange(12, torch::kFloat32).view({3, 4});
  at::Tensor b = torch::tensor({1.5, -2.0, 3.25}).to(torch::kBFloat16);
  at::Tensor c = torch::tensor({0.5, 7.0}).to(torch::kFloat16);
  lmshrink::write_safetensors(path, {{"a", a}, {"b", b}, {"c", c}}, {{"format", "pt"}});
  std::string bytes = lmshrink::testing::slurp(path);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | static_cast<uint8_t>(bytes[i]);
  EXPECT_EQ(header_len % 8, 0u);  // padded to 8 bytes
  lmshrink::SafetensorsFile file(path);
  EXPECT_TRUE(file.tensor("a").equal(a));
  EXPECT_TRUE(file.tensor("b").equal(b));
  EXPECT_TRUE(file.tensor("c").equal(c));
  EXPECT_EQ(file.metadata().at("format"), "pt");
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp-" + std::to_string(::getpid())));
}

TEST(SafetensorsTest, Float64RoundTripsExactly) {
  auto dir = lmshrink::testing::temp_dir("st_f64");
  std::string path = (dir / "g.safetensors").string();
  at::Tensor g = torch::randn({5, 7}, torch::kFloat64);  // values that float32 cannot hold exactly
  at::Tensor h = torch::tensor({1.0 / 3.0}, torch::kFloat64);
  lmshrink::write_safetensors(path, {{"h", h}, {"g", g}});
  lmshrink::SafetensorsFile file(path);
  EXPECT_EQ(file.tensors().at("g").dtype, "F64");
  EXPECT_EQ(file.tensor("g").scalar_type(), torch::kFloat64);
  EXPECT_TRUE(file.tensor("g").equal(g));
  EXPECT_TRUE(file.tensor("h").equal(h));  // 8-byte tensor first: g stays 8-aligned or is copied
}

TEST(SafetensorsTest, HeaderLengthPastEndOfFileIsAnError) {
  std::string path = raw_file("past_eof", "{}", 0);
  std::string bytes = lmshrink::testing::slurp(path);
  bytes[0] = 100;  // header length 100 in a 10-byte file
  std::ofstream(path, std::ios::binary).write(bytes.data(), bytes.size());
  EXPECT_NE(error_of(path).find("runs past the end"), std::string::npos) << error_of(path);
}

TEST(SafetensorsTest, HeaderThatIsNotJsonOrNotAnObjectIsAnError) {
  EXPECT_NE(error_of(raw_file("not_brace", "[1, 2]  ", 0)).find("does not start with '{'"), std::string::npos);
  EXPECT_NE(error_of(raw_file("not_json", "{not json", 0)).find("not a JSON object"), std::string::npos);
}

TEST(SafetensorsTest, OverlapsHolesAndOutOfRangeOffsetsAreErrors) {
  auto entry = [](const char* dtype, int64_t n, int64_t begin, int64_t end) {
    return nlohmann::json{{"dtype", dtype}, {"shape", {n}}, {"data_offsets", {begin, end}}};
  };
  nlohmann::json overlap = {{"a", entry("F32", 2, 0, 8)}, {"b", entry("F32", 2, 4, 12)}};
  EXPECT_NE(error_of(raw_file("overlap", overlap.dump(), 12)).find("overlaps"), std::string::npos);
  nlohmann::json hole = {{"a", entry("F32", 1, 0, 4)}, {"b", entry("F32", 1, 8, 12)}};
  EXPECT_NE(error_of(raw_file("hole", hole.dump(), 12)).find("hole"), std::string::npos);
  nlohmann::json range = {{"a", entry("F32", 4, 0, 16)}};
  EXPECT_NE(error_of(raw_file("range", range.dump(), 8)).find("out of range"), std::string::npos);
  nlohmann::json trailing = {{"a", entry("F32", 1, 0, 4)}};
  EXPECT_NE(error_of(raw_file("trailing", trailing.dump(), 8)).find("trailing bytes"), std::string::npos);
}

TEST(SafetensorsTest, UnknownDtypeAndSizeMismatchAreErrors) {
  nlohmann::json dtype = {{"a", {{"dtype", "U64"}, {"shape", {1}}, {"data_offsets", {0, 8}}}}};
  EXPECT_NE(error_of(raw_file("dtype", dtype.dump(), 8)).find("unsupported dtype U64"), std::string::npos);
  nlohmann::json size = {{"a", {{"dtype", "F16"}, {"shape", {3}}, {"data_offsets", {0, 8}}}}};
  EXPECT_NE(error_of(raw_file("size", size.dump(), 8)).find("need 6 bytes"), std::string::npos);
  // Shapes whose element or byte count wraps 64 bits (2^62 * 8 wraps to 0 and matched empty offsets before).
  nlohmann::json wrap = {{"a", {{"dtype", "F32"}, {"shape", {uint64_t{1} << 62, 8}}, {"data_offsets", {0, 0}}}}};
  EXPECT_NE(error_of(raw_file("wrap", wrap.dump(), 0)).find("more elements than 64 bits"), std::string::npos);
  nlohmann::json bytes = {{"a", {{"dtype", "F32"}, {"shape", {uint64_t{1} << 62}}, {"data_offsets", {0, 0}}}}};
  EXPECT_NE(error_of(raw_file("wrap_bytes", bytes.dump(), 0)).find("more bytes than 64 bits"), std::string::npos);
  nlohmann::json huge = {{"a", {{"dtype", "F32"}, {"shape", {UINT64_MAX}}, {"data_offsets", {0, 0}}}}};
  EXPECT_NE(error_of(raw_file("huge", huge.dump(), 0)).find("non-negative integers"), std::string::npos);
}

TEST(SafetensorsTest, UnalignedDataIsCopiedCorrectly) {
  nlohmann::json header = {{"a", {{"dtype", "F16"}, {"shape", {1}}, {"data_offsets", {0, 2}}}},
                           {"b", {{"dtype", "F32"}, {"shape", {1}}, {"data_offsets", {2, 6}}}}};
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');
  std::string path = raw_file("unaligned", h, 6);
  float expected;
  std::string bytes = lmshrink::testing::slurp(path);
  std::memcpy(&expected, bytes.data() + 8 + h.size() + 2, 4);
  EXPECT_EQ(lmshrink::SafetensorsFile(path).tensor("b").item<float>(), expected);
}

TEST(SafetensorsTest, IndexEntryMissingFromItsShardIsAnError) {
  auto dir = lmshrink::testing::temp_dir("st_index");
  lmshrink::write_safetensors((dir / "shard-1.safetensors").string(), {{"x", torch::ones({2})}});
  nlohmann::json index = {{"metadata", nlohmann::json::object()},
                          {"weight_map", {{"x", "shard-1.safetensors"}, {"y", "shard-1.safetensors"}}}};
  std::ofstream(dir / "model.safetensors.index.json") << index.dump();
  try {
    lmshrink::HfWeights weights(dir.string());
    FAIL() << "expected an error";
  } catch (const lmshrink::Error& e) {
    EXPECT_NE(std::string(e.what()).find("tensor y is listed in shard"), std::string::npos) << e.what();
  }
}

TEST(SafetensorsTest, IntegerDtypesRoundTripExactly) {
  auto dir = lmshrink::testing::temp_dir("st_int");
  std::string path = (dir / "i.safetensors").string();
  auto values = [](std::vector<int64_t> v, at::ScalarType type) { return torch::tensor(v, torch::kInt64).to(type); };
  int64_t i32_min = std::numeric_limits<int32_t>::min(), i32_max = std::numeric_limits<int32_t>::max();
  int64_t i64_min = std::numeric_limits<int64_t>::min(), i64_max = std::numeric_limits<int64_t>::max();
  // u8 first with 5 bytes: i32 then starts at byte 5 of the buffer, so the reader copies it (unaligned).
  std::vector<std::pair<std::string, at::Tensor>> tensors = {
      {"u8", values({0, 1, 127, 128, 255}, torch::kUInt8)},
      {"i32", values({i32_min, -1, 0, 7, i32_max}, torch::kInt32).view({1, 5})},
      {"i8", values({-128, -1, 0, 1, 127}, torch::kInt8)},
      {"i16", values({-32768, -1, 0, 1, 32767}, torch::kInt16)},
      {"i64", values({i64_min, -1, 0, int64_t{1} << 40, i64_max}, torch::kInt64).view({5, 1})}};
  lmshrink::write_safetensors(path, tensors);
  lmshrink::SafetensorsFile file(path);
  const std::map<std::string, std::string> names = {{"u8", "U8"}, {"i8", "I8"}, {"i16", "I16"}, {"i32", "I32"}, {"i64", "I64"}};
  for (const auto& [name, t] : tensors) {
    EXPECT_EQ(file.tensors().at(name).dtype, names.at(name));
    at::Tensor read = file.tensor(name);
    EXPECT_EQ(read.scalar_type(), t.scalar_type()) << name;
    EXPECT_EQ(read.sizes(), t.sizes()) << name;
    EXPECT_TRUE(read.equal(t)) << name << ": " << read;
  }
}

}  // namespace
