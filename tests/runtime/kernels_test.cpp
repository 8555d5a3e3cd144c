// The CPU inference kernels against float64 loops: PackedMatrix (decode dot products and the prefill BLAS path) and
// SparseColumns (decode gathers and prefill tiles), both kernel families, float32 and bfloat16 storage, odd shapes,
// s = 1 and s = k, 16- and 32-bit indices, and bit-identical results for any thread count.
#include <gtest/gtest.h>

#include "lmshrink/runtime/packed_matrix.h"
#include "lmshrink/runtime/sparse_columns.h"
#include "lmshrink/util/error.h"
#include "runtime/kernel_test_support.h"

namespace {

using lmshrink::PackedMatrix;
using lmshrink::SparseColumns;
using lmshrink::WeightStorage;
using lmshrink::testing::naive_rows_times;
using lmshrink::testing::random_normal;
using lmshrink::testing::relative_error;

const std::vector<int64_t> kTokenCounts = {1, 3, 8, 9, 70};  // decode kernel up to 8, prefill beyond

// A random support: s distinct rows per column of [0, k), as int64 [s, out], always including row k − 1 somewhere.
at::Tensor random_rows(int64_t k, int64_t out, int64_t s, uint64_t seed) {
  at::Tensor draws = at::rand({k, out}, at::detail::createCPUGenerator(seed), torch::kFloat32);
  draws[k - 1][0] = 2.0f;  // the largest index is used by column 0
  return std::get<0>(std::get<1>(draws.topk(s, 0)).sort(0));
}

// S [k, out] dense from a support, for the reference.
at::Tensor dense_coefficients(const at::Tensor& rows, const at::Tensor& values, int64_t k) {
  return torch::zeros({k, rows.size(1)}, torch::kFloat32).scatter_(0, rows, values);
}

TEST(PackedMatrix, Float32MatchesFloat64LoopsForBothKernelFamilies) {
  for (bool portable : {false, true}) {
    lmshrink::testing::KernelFamily family(portable);
    for (auto [rows, cols] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {7, 13}, {33, 100}, {65, 257}, {130, 1031}}) {
      at::Tensor w = random_normal({rows, cols}, 1);
      PackedMatrix packed(w, WeightStorage::kFloat32);
      EXPECT_EQ(packed.bytes(), rows * cols * 4);
      for (int64_t tokens : kTokenCounts) {
        at::Tensor x = random_normal({tokens, cols}, 2);
        at::Tensor y = packed.multiply(x);
        ASSERT_EQ(y.sizes(), (std::vector<int64_t>{tokens, rows}));
        EXPECT_LT(relative_error(y, naive_rows_times(w, x)), 1e-5)
            << rows << "x" << cols << ", " << tokens << " tokens, portable " << portable;
      }
    }
  }
}

TEST(PackedMatrix, Bfloat16StoresRoundedWeightsAndAccumulatesInFloat32) {
  for (bool portable : {false, true}) {
    lmshrink::testing::KernelFamily family(portable);
    at::Tensor w = random_normal({37, 523}, 3);
    PackedMatrix packed(w, WeightStorage::kBFloat16);
    EXPECT_EQ(packed.bytes(), 37 * 523 * 2);
    at::Tensor rounded = w.to(torch::kBFloat16).to(torch::kFloat32);
    EXPECT_TRUE(packed.to_float().equal(rounded));
    for (int64_t tokens : kTokenCounts) {
      at::Tensor x = random_normal({tokens, 523}, 4);
      at::Tensor y = packed.multiply(x);
      EXPECT_LT(relative_error(y, naive_rows_times(rounded, x)), 1e-5) << tokens << " tokens";  // exact storage
      EXPECT_LT(relative_error(y, naive_rows_times(w, x)), 1e-2) << tokens << " tokens";        // bf16 tolerance
    }
  }
}

TEST(PackedMatrix, ThreadCountNeverChangesTheBits) {
  at::Tensor w = random_normal({301, 2049}, 5);
  for (WeightStorage storage : {WeightStorage::kFloat32, WeightStorage::kBFloat16}) {
    PackedMatrix packed(w, storage);
    at::Tensor x = random_normal({3, 2049}, 6);
    at::Tensor single;
    {
      lmshrink::testing::ThreadCount threads(1);
      single = packed.multiply(x);
    }
    for (int threads : {2, 3, 4}) {
      lmshrink::testing::ThreadCount count(threads);
      EXPECT_TRUE(packed.multiply(x).equal(single)) << threads << " threads";  // threads split rows, never a sum
    }
  }
}

TEST(PackedMatrix, SideBySideEqualsEachProductForAnyThreadCount) {
  std::vector<at::Tensor> weights = {random_normal({1, 129}, 20), random_normal({37, 129}, 21),
                                     random_normal({300, 129}, 22)};
  for (WeightStorage storage : {WeightStorage::kFloat32, WeightStorage::kBFloat16}) {
    std::vector<PackedMatrix> packed;
    for (const at::Tensor& w : weights) packed.emplace_back(w, storage);
    std::vector<const PackedMatrix*> matrices = {&packed[0], &packed[1], &packed[2]};
    for (int64_t tokens : kTokenCounts) {
      at::Tensor x = random_normal({tokens, 129}, 23);
      at::Tensor y;
      {
        lmshrink::testing::ThreadCount threads(1);
        y = PackedMatrix::multiply_side_by_side(matrices, x);
      }
      ASSERT_EQ(y.sizes(), (std::vector<int64_t>{tokens, 338}));
      at::Tensor want = naive_rows_times(torch::cat({packed[0].to_float(), packed[1].to_float(), packed[2].to_float()}), x);
      EXPECT_LT(relative_error(y, want), 1e-5) << tokens << " tokens";
      if (tokens > lmshrink::kSmallBatch) continue;  // BLAS decides its own order in prefill
      at::Tensor each = torch::cat({packed[0].multiply(x), packed[1].multiply(x), packed[2].multiply(x)}, 1);
      EXPECT_TRUE(y.equal(each)) << tokens << " tokens";  // the same dot product per row
      lmshrink::testing::ThreadCount threads(3);
      EXPECT_TRUE(PackedMatrix::multiply_side_by_side(matrices, x).equal(y)) << tokens << " tokens, 3 threads";
    }
  }
  PackedMatrix narrow(random_normal({2, 128}, 24), WeightStorage::kFloat32);
  PackedMatrix half(random_normal({2, 129}, 25), WeightStorage::kBFloat16);
  PackedMatrix full(random_normal({2, 129}, 26), WeightStorage::kFloat32);
  at::Tensor x = random_normal({1, 129}, 27);
  EXPECT_THROW(PackedMatrix::multiply_side_by_side({&full, &narrow}, x), lmshrink::Error);
  EXPECT_THROW(PackedMatrix::multiply_side_by_side({&full, &half}, x), lmshrink::Error);
  EXPECT_THROW(PackedMatrix::multiply_side_by_side({}, x), lmshrink::Error);
}

// Wide matrices are stored as column panels (kPanelCols); small panel widths cover several panels, an uneven last
// panel and a single column, against the float64 loops, for both families, both storages and any thread count.
TEST(PackedMatrix, ColumnPanelsMatchFloat64LoopsAndNeverDependOnThreads) {
  EXPECT_EQ(PackedMatrix(random_normal({2, 8192}, 40), WeightStorage::kBFloat16).panels(), 2);
  EXPECT_EQ(PackedMatrix(random_normal({2, 14336}, 40), WeightStorage::kBFloat16).panels(), 4);
  EXPECT_EQ(PackedMatrix(random_normal({2, 4096}, 40), WeightStorage::kBFloat16).panels(), 1);
  for (bool portable : {false, true}) {
    lmshrink::testing::KernelFamily family(portable);
    for (auto [cols, panel_cols, panels] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{
             {1031, 64, 17}, {257, 128, 3}, {129, 64, 3}, {100, 99, 2}}) {
      at::Tensor w = random_normal({67, cols}, 41);
      for (WeightStorage storage : {WeightStorage::kFloat32, WeightStorage::kBFloat16}) {
        PackedMatrix packed(w, storage, panel_cols);
        EXPECT_EQ(packed.panels(), panels) << cols << " / " << panel_cols;
        EXPECT_EQ(packed.cols(), cols);
        EXPECT_EQ(packed.bytes(), 67 * cols * (storage == WeightStorage::kFloat32 ? 4 : 2));
        at::Tensor stored = storage == WeightStorage::kFloat32 ? w : w.to(torch::kBFloat16).to(torch::kFloat32);
        EXPECT_TRUE(packed.to_float().equal(stored));
        for (int64_t tokens : kTokenCounts) {
          at::Tensor x = random_normal({tokens, cols}, 42);
          at::Tensor y;
          {
            lmshrink::testing::ThreadCount threads(1);
            y = packed.multiply(x);
          }
          EXPECT_LT(relative_error(y, naive_rows_times(stored, x)), 1e-5) << cols << " cols, " << tokens << " tokens";
          lmshrink::testing::ThreadCount threads(3);
          if (tokens <= lmshrink::kSmallBatch) EXPECT_TRUE(packed.multiply(x).equal(y)) << tokens << " tokens";
        }
      }
    }
  }
  std::vector<PackedMatrix> fused = {PackedMatrix(random_normal({5, 300}, 43), WeightStorage::kFloat32, 64),
                                     PackedMatrix(random_normal({40, 300}, 44), WeightStorage::kFloat32, 64)};
  at::Tensor x = random_normal({2, 300}, 45);
  at::Tensor side_by_side = PackedMatrix::multiply_side_by_side({&fused[0], &fused[1]}, x);
  EXPECT_TRUE(side_by_side.equal(torch::cat({fused[0].multiply(x), fused[1].multiply(x)}, 1)));
  PackedMatrix other_panels(random_normal({5, 300}, 46), WeightStorage::kFloat32, 128);
  EXPECT_THROW(PackedMatrix::multiply_side_by_side({&fused[0], &other_panels}, x), lmshrink::Error);
  EXPECT_THROW(PackedMatrix(random_normal({2, 3}, 47), WeightStorage::kFloat32, 0), lmshrink::Error);
}

TEST(PackedMatrix, RejectsBadInputs) {
  PackedMatrix packed(random_normal({4, 6}, 7), WeightStorage::kFloat32);
  EXPECT_THROW(packed.multiply(random_normal({2, 5}, 8)), lmshrink::Error);
  EXPECT_THROW(packed.multiply(random_normal({2, 6}, 8).to(torch::kDouble)), lmshrink::Error);
  EXPECT_THROW(PackedMatrix(torch::ones({3}), WeightStorage::kFloat32), lmshrink::Error);
  EXPECT_THROW(lmshrink::parse_weight_storage("fp8"), lmshrink::Error);
  EXPECT_EQ(lmshrink::parse_weight_storage("bf16"), WeightStorage::kBFloat16);
}

struct SparseCase {
  int64_t k, out, s;
};

void expect_sparse_matches(const SparseCase& c, WeightStorage storage, double tolerance) {
  at::Tensor rows = random_rows(c.k, c.out, c.s, 11);
  at::Tensor values = random_normal({c.s, c.out}, 12);
  SparseColumns sparse(rows, values, c.k, storage);
  at::Tensor stored = storage == WeightStorage::kFloat32 ? values : values.to(torch::kBFloat16).to(torch::kFloat32);
  at::Tensor s_dense = dense_coefficients(rows, stored, c.k);
  EXPECT_TRUE(sparse.dense().equal(s_dense));
  for (int64_t tokens : kTokenCounts) {
    at::Tensor z = random_normal({tokens, c.k}, 13);
    at::Tensor y = sparse.multiply(z);
    ASSERT_EQ(y.sizes(), (std::vector<int64_t>{tokens, c.out}));
    EXPECT_LT(relative_error(y, naive_rows_times(s_dense.t(), z)), tolerance)
        << "k " << c.k << " out " << c.out << " s " << c.s << ", " << tokens << " tokens";
  }
}

TEST(SparseColumns, MatchesFloat64LoopsIncludingOneNonzeroAndAllAtoms) {
  const std::vector<SparseCase> cases = {{5, 7, 1}, {5, 7, 5}, {64, 33, 17}, {300, 129, 150}, {1, 3, 1}, {40, 65, 40}};
  for (bool portable : {false, true}) {
    lmshrink::testing::KernelFamily family(portable);
    for (const SparseCase& c : cases) {
      expect_sparse_matches(c, WeightStorage::kFloat32, 1e-5);
      expect_sparse_matches(c, WeightStorage::kBFloat16, 1e-5);  // against the bf16-rounded values it stores
    }
  }
}

TEST(SparseColumns, IndicesAreUint16BelowSixtyFiveThousandFiveHundredThirtySixAtomsAnd32BitFrom) {
  for (bool portable : {false, true}) {
    lmshrink::testing::KernelFamily family(portable);
    for (int64_t k : {int64_t{65535}, int64_t{65536}, int64_t{70001}}) {
      SparseColumns sparse(random_rows(k, 9, 20, 14), random_normal({20, 9}, 15), k, WeightStorage::kFloat32);
      EXPECT_EQ(sparse.index_bits(), k < 65536 ? 16 : 32) << k;
      EXPECT_EQ(sparse.bytes(), 20 * 9 * (4 + (k < 65536 ? 2 : 4))) << k;
      expect_sparse_matches({k, 9, 20}, WeightStorage::kFloat32, 1e-5);
    }
  }
}

TEST(SparseColumns, ThreadCountNeverChangesTheBits) {
  SparseColumns sparse(random_rows(700, 513, 301, 16), random_normal({301, 513}, 17), 700, WeightStorage::kFloat32);
  for (int64_t tokens : {int64_t{1}, int64_t{70}}) {
    at::Tensor z = random_normal({tokens, 700}, 18);
    at::Tensor single;
    {
      lmshrink::testing::ThreadCount threads(1);
      single = sparse.multiply(z);
    }
    for (int threads : {2, 3, 4}) {
      lmshrink::testing::ThreadCount count(threads);
      EXPECT_TRUE(sparse.multiply(z).equal(single)) << threads << " threads, " << tokens << " tokens";  // rows split
    }
  }
}

TEST(SparseColumns, RejectsBadInputs) {
  at::Tensor rows = random_rows(10, 4, 3, 19), values = random_normal({3, 4}, 20);
  EXPECT_THROW(SparseColumns(rows, values, 5, WeightStorage::kFloat32), lmshrink::Error);  // row >= k
  EXPECT_THROW(SparseColumns(rows, random_normal({2, 4}, 21), 10, WeightStorage::kFloat32), lmshrink::Error);
  SparseColumns sparse(rows, values, 10, WeightStorage::kFloat32);
  EXPECT_THROW(sparse.multiply(random_normal({1, 9}, 22)), lmshrink::Error);
}

}  // namespace
