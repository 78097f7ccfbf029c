// ras/pipeline/sharded.hpp — feature extraction and test-set scoring sharded over the ranks of a
// dist::Communicator (MPI ranks under mpirun): each rank computes a contiguous block of the images
// (filling the feature cache for it, entries written atomically), then the blocks are gathered in
// rank order. The results are bitwise those of one process: features are per image, and the
// scoring blocks start at multiples of the anomaly-map chunk (4 images), so every chunk holds the
// same images as in one process. With a null or one-rank communicator these are the plain calls.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "ras/dist/communicator.hpp"
#include "ras/pipeline/evaluate.hpp"
#include "ras/pipeline/features.hpp"

namespace ras::pipeline {

// images -> (N, C, h, w) on EVERY rank (training needs all of them everywhere); the progress bar
// (`label`) shows rank 0's block.
inline Tensor<float, 4> sharded_features(FeatureExtractor& extractor, const std::vector<std::filesystem::path>& images,
                                         const std::string& label, dist::Communicator* comm) {
  if (!dist::distributed(comm)) return extractor.features(images, label);
  RAS_CHECK(!images.empty(), "FeatureExtractor: no images");
  const int r = comm->rank(), R = comm->size();
  const Index N = static_cast<Index>(images.size());
  const dist::Block mine = dist::block_of(N, r, R);
  Tensor<float, 4> local;
  if (mine.size() > 0)
    local = extractor.features(std::vector<std::filesystem::path>(images.begin() + mine.begin, images.begin() + mine.end),
                               r == 0 ? label : std::string());
  // the feature shape from the last rank (its block is never empty)
  Index shape[3] = {0, 0, 0};
  if (r == R - 1)
    for (int d = 0; d < 3; ++d) shape[d] = local.dim(d + 1);
  comm->broadcast(shape, sizeof shape, R - 1);
  const Index row = shape[0] * shape[1] * shape[2];
  auto out = Tensor<float, 4>::uninitialized({N, shape[0], shape[1], shape[2]});
  std::vector<std::size_t> bytes(static_cast<std::size_t>(R));
  for (int q = 0; q < R; ++q)
    bytes[static_cast<std::size_t>(q)] = static_cast<std::size_t>(dist::block_of(N, q, R).size() * row) * sizeof(float);
  comm->allgatherv(mine.size() > 0 ? local.data() : nullptr, out.data(), bytes);
  return out;
}

// score_class over the ranks: every rank scores a block of whole anomaly-map chunks; rank 0 gets
// the complete ClassScores (scores, maps, masks), the other ranks only the paths (maps empty).
// chunk: the anomaly-map chunk of Detector::maps_from_features (its default 4).
inline ClassScores sharded_score_class(Detector& det, const data::ClassDataset& ds, dist::Communicator* comm,
                                       bool progress = true, Index chunk = 4) {
  if (!dist::distributed(comm)) return score_class(det, ds, progress);
  RAS_CHECK(!ds.test.empty(), "evaluate: class ", ds.class_name, " has no test images in ", ds.root.string());
  const int r = comm->rank(), R = comm->size();
  ClassScores out;
  for (const auto& s : ds.test) out.paths.push_back(s.path);
  const Index N = static_cast<Index>(out.paths.size()), size = det.image_size(), plane = size * size;
  auto images_of = [&](int q) {
    const dist::Block c = dist::block_of((N + chunk - 1) / chunk, q, R);
    return dist::Block{std::min(N, c.begin * chunk), std::min(N, c.end * chunk)};
  };
  const dist::Block mine = images_of(r);
  Tensor<float, 4> maps;  // (n, 1, size, size)
  std::vector<double> scores;
  if (mine.size() > 0) {
    const std::vector<std::filesystem::path> paths(out.paths.begin() + mine.begin, out.paths.begin() + mine.end);
    auto feats = det.extractor().features(paths, progress && r == 0 ? "features " + ds.class_name + " test" : "");
    auto ms = det.maps_and_scores(feats, size);  // on the detector's compute device when it has one
    maps = std::move(ms.maps);
    scores = std::move(ms.scores);
  }
  std::vector<std::size_t> map_bytes(static_cast<std::size_t>(R)), score_bytes(static_cast<std::size_t>(R));
  for (int q = 0; q < R; ++q) {
    const Index n = images_of(q).size();
    map_bytes[static_cast<std::size_t>(q)] = static_cast<std::size_t>(n * plane) * sizeof(float);
    score_bytes[static_cast<std::size_t>(q)] = static_cast<std::size_t>(n) * sizeof(double);
  }
  if (r == 0) {
    out.maps = Tensor<float, 3>::uninitialized({N, size, size});
    out.scores.resize(static_cast<std::size_t>(N));
  }
  comm->gatherv(mine.size() > 0 ? maps.data() : nullptr, r == 0 ? out.maps.data() : nullptr, map_bytes);
  comm->gatherv(scores.data(), r == 0 ? out.scores.data() : nullptr, score_bytes);
  if (r == 0) out.masks = class_masks(ds, size);
  return out;
}

}  // namespace ras::pipeline
