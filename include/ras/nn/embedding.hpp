// ras/nn/embedding.hpp — nn::Embedding (mirrors torch.nn.Embedding: parameter "weight"
// (num_embeddings, embedding_dim) initialised N(0, 1); no padding_idx / max_norm). forward() looks
// rows up; the weight can also be used directly as a learned parameter matrix (e.g. query
// embeddings fed to a decoder as `emb.weight`).
#pragma once

#include <vector>

#include "ras/autograd/ops_shape.hpp"
#include "ras/nn/init.hpp"

namespace ras::nn {

template <class S, class D = Cpu>
class Embedding {
 public:
  autograd::Var<S, 2, D> weight;  // (num_embeddings, embedding_dim)

  Embedding() = default;
  Embedding(Index num_embeddings, Index embedding_dim, Rng& rng) {
    RAS_CHECK(num_embeddings > 0 && embedding_dim > 0, "Embedding: expected positive sizes but got (",
              num_embeddings, ", ", embedding_dim, ")");
    Tensor<S, 2, D> w({num_embeddings, embedding_dim});
    init::normal_(w, rng);
    weight = autograd::Var<S, 2, D>::parameter(std::move(w));
  }

  Index num_embeddings() const { return weight.dim(0); }
  Index embedding_dim() const { return weight.dim(1); }

  // indices: n values in [0, num_embeddings) -> (n, embedding_dim)
  autograd::Var<S, 2, D> forward(const std::vector<Index>& indices) const {
    return autograd::embedding(weight, indices);
  }
  autograd::Var<S, 2, D> operator()(const std::vector<Index>& indices) const { return forward(indices); }

  template <class V>
  void visit(V& v) {
    v.param("weight", weight);
  }
};

}  // namespace ras::nn
