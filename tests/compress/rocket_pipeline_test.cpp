// ROCKET through the compression driver on stories260K with real TinyStories calibration: profile → allocate →
// compress is deterministic; the accounted words of every produced layer equal the size its profile option
// promised, so the knapsack's removed fraction is the model's; the saved profile round-trips and an empty or
// inconsistent one is rejected.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>

#include "lmshrink/calib/streaming.h"
#include "lmshrink/compress/pipeline.h"
#include "lmshrink/util/error.h"
#include "compress/stories_fixture.h"
#include "test_support.h"

namespace {

using namespace lmshrink;

using lmshrink::testing::calibration_tokens;
using lmshrink::testing::stories;

CompressOptions rocket_options(double ratio, const std::string& alloc) {
  CompressOptions o{Method::kRocket, ratio, all_projections(), Mode::kOneShot, 4};
  o.rocket.alloc = parse_alloc(alloc);
  o.rocket.grid = {{0.1, 0.2, 0.3, 0.4, 0.5, 0.6}, {1.0, 1.5, 2.0, 2.5}};
  return o;
}

struct Fixture {
  at::Tensor tokens = calibration_tokens(16, 128);
  std::unique_ptr<Transformer> probe = stories();
  std::vector<BlockStats> stats = collect_all_one_shot(*probe, tokens, 4);
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

TEST(RocketPipelineTest, ProfileAllocateCompressIsDeterministicAndMeetsTheBudget) {
  for (const std::string alloc : {"mckp", "uniform"}) {
    auto a = stories(), b = stories();
    CompressResult ra = compress_model(*a, fixture().tokens, rocket_options(0.3, alloc), &fixture().stats);
    CompressResult rb = compress_model(*b, fixture().tokens, rocket_options(0.3, alloc), &fixture().stats);
    auto la = a->named_linears(), lb = b->named_linears();
    for (size_t i = 0; i < la.size(); ++i) EXPECT_TRUE(torch::equal(la[i].linear->dense(), lb[i].linear->dense())) << la[i].name;
    double before = 0.0, after = 0.0;
    for (const CompressedLayer& l : ra.layers) {
      before += static_cast<double>(l.params_before);
      after += l.words_full;
    }
    EXPECT_GE(1.0 - after / before, 0.3 - 1e-9) << alloc;
    EXPECT_NEAR(1.0 - after / before, ra.allocated_ratio, 1e-12) << alloc;
    if (alloc == "uniform") {
      for (const CompressedLayer& l : ra.layers) EXPECT_NEAR(l.ratio, 0.3, 1e-12) << l.name;
    }
  }
}

TEST(RocketPipelineTest, EveryLayerCostsWhatItsProfileOptionPromised) {
  // 16-bit factors, int8, bits chosen per matrix by the knapsack, and int8 with COMPOT's fits as candidates.
  for (auto [bits, compot] : {std::pair{0, false}, {8, false}, {-1, false}, {8, true}}) {
    auto model = stories();
    CompressOptions options = rocket_options(0.4, "mckp");
    options.dictionary.quantize_bits = bits;
    options.rocket.compot_candidates = compot;
    CompressResult result = compress_model(*model, fixture().tokens, options, &fixture().stats);
    ASSERT_EQ(result.layers.size(), result.profile.size());
    int sparse = 0;
    std::set<int> bits_used;
    for (size_t i = 0; i < result.layers.size(); ++i) {
      const CompressedLayer& l = result.layers[i];
      double promised = -1.0;
      for (const ProfileOption& o : result.profile[i].options) {
        if (o.rate == l.ratio && (o.rate == 0 || (o.ks == l.ks && o.bits == l.bits))) promised = o.kept_words;
      }
      EXPECT_DOUBLE_EQ(l.words_full, promised) << l.name << " bits " << bits;
      EXPECT_GE(l.whitened_error, 0.0) << l.name;
      sparse += l.atoms > 0;
      if (l.ratio > 0) bits_used.insert(l.bits);
    }
    EXPECT_GT(sparse, 0);  // the knapsack picks sparse (ks > 1) options somewhere
    if (bits >= 0) EXPECT_EQ(bits_used, std::set<int>{bits});
    EXPECT_GE(result.allocated_ratio, 0.4 - 1e-9);
  }
}

TEST(RocketPipelineTest, SavedProfileRoundTripsAndBadProfilesAreErrors) {
  auto model = stories();
  ProfileSettings settings;
  settings.grid = {{0.2, 0.4}, {1.0, 2.0}};
  std::vector<MatrixProfile> profile = profile_model(*model, fixture().tokens, {"q_proj", "down_proj"}, settings, 4, &fixture().stats);
  ASSERT_EQ(profile.size(), 10u);
  nlohmann::json json = profile_to_json(profile, settings);
  std::vector<MatrixProfile> back = profile_from_json(json, *model, {"q_proj", "down_proj"}, "full", ProfileMetric::kWeight, "p.json");
  ASSERT_EQ(back.size(), profile.size());
  EXPECT_EQ(back[3].name, profile[3].name);
  EXPECT_DOUBLE_EQ(back[3].options[2].error, profile[3].options[2].error);
  EXPECT_THROW(profile_from_json(json, *model, {"q_proj", "up_proj"}, "full", ProfileMetric::kWeight, "p.json"), Error);  // no up_proj entries
  EXPECT_THROW(profile_from_json(json, *model, {"q_proj"}, "effective", ProfileMetric::kWeight, "p.json"), Error);        // other accounting
  EXPECT_EQ(json["metric"], "weight");
  EXPECT_THROW(profile_from_json(json, *model, {"q_proj"}, "full", ProfileMetric::kWhitened, "p.json"), Error);  // other metric
  nlohmann::json legacy = json;  // written before the metric field: the weight metric
  legacy.erase("metric");
  EXPECT_EQ(profile_from_json(legacy, *model, {"q_proj"}, "full", ProfileMetric::kWeight, "p.json").size(), 5u);
  EXPECT_THROW(profile_from_json(legacy, *model, {"q_proj"}, "full", ProfileMetric::kWhitened, "p.json"), Error);
  nlohmann::json empty = json;
  empty["matrices"] = nlohmann::json::array();
  EXPECT_THROW(profile_from_json(empty, *model, {"q_proj"}, "full", ProfileMetric::kWeight, "p.json"), Error);
  nlohmann::json inconsistent = json;
  inconsistent["matrices"][0]["options"][1]["nonzeros"] = 1000;  // s > r
  EXPECT_THROW(profile_from_json(inconsistent, *model, {"q_proj"}, "full", ProfileMetric::kWeight, "p.json"), Error);
  EXPECT_THROW(profile_from_json(nlohmann::json::array(), *model, {"q_proj"}, "full", ProfileMetric::kWeight, "p.json"), Error);
  EXPECT_THROW(profile_from_json(json, *model, {"q_proj"}, "full", ProfileMetric::kWeight, "p.json", 8), Error);  // int8 run
  nlohmann::json compot_fit = json;  // a COMPOT option (rocket_profile.h compot_candidates) reads back as one
  compot_fit["matrices"][0]["options"][1]["fit"] = "compot";
  EXPECT_TRUE(profile_from_json(compot_fit, *model, {"q_proj"}, "full", ProfileMetric::kWeight, "p.json")[0].options[1].compot);
  compot_fit["matrices"][0]["options"][1]["fit"] = "svd";
  EXPECT_THROW(profile_from_json(compot_fit, *model, {"q_proj"}, "full", ProfileMetric::kWeight, "p.json"), Error);
  nlohmann::json bad_bits = json;
  bad_bits["matrices"][0]["options"][1]["bits"] = 5;
  EXPECT_THROW(profile_from_json(bad_bits, *model, {"q_proj"}, "full", ProfileMetric::kWeight, "p.json"), Error);
}

TEST(RocketPipelineTest, BadRocketOptionsAreErrors) {
  auto model = stories();
  CompressOptions o = rocket_options(0.3, "dynamic");
  EXPECT_THROW(check_compress_options(*model, o), Error);
  o = rocket_options(0.3, "mckp");
  o.rocket.grid.ks = {0.5, 1.0};
  EXPECT_THROW(check_compress_options(*model, o), Error);
  o = rocket_options(0.3, "mckp");
  o.mode = Mode::kSequential;
  EXPECT_THROW(check_compress_options(*model, o), Error);
  o = rocket_options(0.65, "mckp");  // the grid removes at most 0.6 of every matrix
  o.rocket.grid.rates = {0.1, 0.2};
  EXPECT_THROW(compress_model(*model, fixture().tokens, o, &fixture().stats), Error);
}

}  // namespace
