// Data-parallel pieces without MPI (ranks as threads, ras/testing/thread_comm.hpp): the contiguous
// blocks tile the range, the ordered chain sum is bitwise the sequential sum whatever the number of
// ranks and the chunk size (absent segments skipped), and the Trainer over 2 and 3 ranks gives
// bitwise the weights and losses of one process, also when resumed with another rank count.
#include <doctest/doctest.h>

#include <filesystem>
#include <vector>

#include "ras/dist/ordered_sum.hpp"
#include "ras/random.hpp"
#include "ras/testing/thread_comm.hpp"
#include "ras/testing/tiny_ras.hpp"
#include "ras/train/trainer.hpp"

namespace {
std::vector<float> flat_parameters(ras::nn::RasReconstruction<float>& m) {
  std::vector<float> v;
  for (auto& p : ras::nn::named_parameters<float>(m)) v.insert(v.end(), p.value, p.value + p.numel);
  return v;
}
}  // namespace

TEST_CASE("dist: the blocks of the ranks tile [0, n) in order") {
  for (int R : {1, 2, 3, 5})
    for (ras::Index n : {0, 1, 2, 7, 8, 64}) {
      ras::Index at = 0;
      for (int r = 0; r < R; ++r) {
        const auto b = ras::dist::block_of(n, r, R);
        CHECK(b.begin == at);
        CHECK(b.end >= b.begin);
        at = b.end;
      }
      CHECK(at == n);
    }
  CHECK_THROWS_AS(ras::dist::block_of(4, 2, 2), ras::Error);
}

TEST_CASE("dist: the ordered chain sum is bitwise the sequential sum, absent segments skipped") {
  // 7 terms over 4 segments of sizes 5, 0, 9, 3 (17 values); values of very different magnitudes, so
  // any other summation order would round differently
  const std::vector<ras::Index> segments = {0, 5, 5, 14, 17};
  const ras::Index total = 17;
  const int T = 7;
  ras::Rng rng(5);
  std::vector<std::vector<float>> values(T, std::vector<float>(total));
  std::vector<std::vector<char>> present(T, std::vector<char>(4, 1));
  for (int t = 0; t < T; ++t) {
    for (auto& v : values[t]) v = static_cast<float>((rng.uniform() - 0.5) * std::pow(10.0, int(rng.below(9)) - 4));
    present[t][static_cast<std::size_t>(rng.below(4))] = 0;
  }
  present[0][3] = 0, present[1][3] = 0;  // segment 3 first appears in a later term
  for (int t = 0; t < T; ++t) present[t][0] = 0;  // segment 0: never present
  // the sequential sum as BatchParallel forms it: zeros on first presence, then += in order
  std::vector<float> expect(total, 0.f);
  std::vector<char> expect_present(4, 0);
  for (int t = 0; t < T; ++t)
    for (std::size_t s = 0; s < 4; ++s)
      if (present[t][s]) {
        expect_present[s] = 1;
        for (ras::Index i = segments[s]; i < segments[s + 1]; ++i) expect[i] += values[t][i];
      }
  for (int R : {1, 2, 3, 4, 9})
    for (ras::Index chunk : {1, 4, 6, 17, 1000}) {
      CAPTURE(R);
      CAPTURE(chunk);
      std::vector<std::vector<float>> got(R);
      std::vector<std::vector<char>> got_present(R);
      ras::testing::run_ranks(R, [&](ras::dist::Communicator& comm, int r) {
        // rank 0: its first term already summed into acc (as the trainer's master gradient); the
        // rest of its block as terms
        const auto b = ras::dist::block_of(T, r, R);
        std::vector<float> acc(total, 0.f);
        std::vector<char> acc_present(4, 0);
        ras::Index first = b.begin;
        if (r == 0 && b.size() > 0) {
          for (std::size_t s = 0; s < 4; ++s)
            if (present[0][s]) {
              acc_present[s] = 1;
              for (ras::Index i = segments[s]; i < segments[s + 1]; ++i) acc[i] += values[0][i];
            }
          first = 1;
        }
        if (r != 0) acc.assign(total, -777.f), acc_present.assign(4, 1);  // ignored off rank 0
        std::vector<ras::dist::SumTerm<float>> terms;
        for (ras::Index t = first; t < b.end; ++t) terms.push_back({values[t].data(), present[t].data()});
        ras::dist::ordered_chain_sum<float>(comm, segments, acc.data(), acc_present.data(), terms, chunk);
        got[r] = acc;
        got_present[r] = acc_present;
      });
      for (int r = 0; r < R; ++r) {
        CHECK(got[r] == expect);
        CHECK(got_present[r] == expect_present);
      }
    }
}

TEST_CASE("dist: training over 2 and 3 ranks gives bitwise the weights and losses of one process") {
  auto f = ras::testing::tiny_ras_features(21, 4);
  auto options = [] {
    ras::train::TrainOptions o;
    o.epochs = 2;
    o.batch_size = 8;   // 3 steps per epoch, the last one partial (5 samples)
    o.micro_batch = 3;  // micro-batches of 3, 3, 2 (and 3, 2): a rank of 3 sometimes has none
    o.threads = 1;
    o.progress = false;
    o.chain_chunk = 1000;  // several pipelined chunks
    return o;
  };
  std::vector<float> single;
  double single_loss = 0;
  {
    ras::nn::RasReconstruction<float> model(ras::testing::tiny_ras_config(), 9);
    ras::train::Trainer<float> t(model, f, options());
    CHECK(t.run());
    single = flat_parameters(model);
    single_loss = t.history().back().mean_loss;
  }
  for (int R : {2, 3}) {
    CAPTURE(R);
    std::vector<std::vector<float>> weights(R);
    std::vector<double> losses(R);
    ras::testing::run_ranks(R, [&](ras::dist::Communicator& comm, int r) {
      ras::nn::RasReconstruction<float> model(ras::testing::tiny_ras_config(), 9);
      auto o = options();
      o.comm = &comm;
      ras::train::Trainer<float> t(model, f, o);
      CHECK(t.run());
      weights[r] = flat_parameters(model);
      losses[r] = t.history().back().mean_loss;
    });
    for (int r = 0; r < R; ++r) {
      CHECK(weights[r] == single);
      CHECK(losses[r] == single_loss);
    }
  }
}

TEST_CASE("dist: a checkpoint of 2 ranks resumes in one process (and back) to the same weights") {
  auto f = ras::testing::tiny_ras_features(21, 4);
  const auto dir = std::filesystem::temp_directory_path() / "ras_test_dist_resume";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto options = [&] {
    ras::train::TrainOptions o;
    o.epochs = 2;
    o.batch_size = 8;
    o.micro_batch = 3;
    o.threads = 1;
    o.progress = false;
    o.checkpoint = dir / "checkpoint.safetensors";
    o.checkpoint_every_steps = 1;
    return o;
  };
  std::vector<float> single;
  {
    ras::nn::RasReconstruction<float> model(ras::testing::tiny_ras_config(), 9);
    auto o = options();
    o.checkpoint.clear();
    ras::train::Trainer<float> t(model, f, o);
    CHECK(t.run());
    single = flat_parameters(model);
  }
  // 2 ranks, stopped after 2 steps (mid-epoch): rank 0 alone wrote the checkpoint
  ras::testing::run_ranks(2, [&](ras::dist::Communicator& comm, int) {
    ras::nn::RasReconstruction<float> model(ras::testing::tiny_ras_config(), 9);
    auto o = options();
    o.comm = &comm;
    o.stop_after_steps = 2;
    ras::train::Trainer<float> t(model, f, o);
    CHECK_FALSE(t.run());
  });
  // one process: 2 more steps (into the second epoch), then 2 ranks to the end
  {
    ras::nn::RasReconstruction<float> model(ras::testing::tiny_ras_config(), 1);
    auto o = options();
    o.stop_after_steps = 2;
    ras::train::Trainer<float> t(model, f, o);
    t.load_checkpoint(o.checkpoint);
    CHECK_FALSE(t.run());
    CHECK(t.epoch() == 1);
  }
  std::vector<std::vector<float>> weights(2);
  ras::testing::run_ranks(2, [&](ras::dist::Communicator& comm, int r) {
    ras::nn::RasReconstruction<float> model(ras::testing::tiny_ras_config(), 1);
    auto o = options();
    o.comm = &comm;
    ras::train::Trainer<float> t(model, f, o);
    t.load_checkpoint(o.checkpoint);
    CHECK(t.run());
    weights[r] = flat_parameters(model);
  });
  CHECK(weights[0] == single);
  CHECK(weights[1] == single);
  std::filesystem::remove_all(dir);
}
