// examples/ras/main.cpp — the `ras` command-line program: classify, features, train, score, eval, calibrate.
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <new>
#include <string>

#include "commands.hpp"
#include "mpi_world.hpp"
#include "ras/config.hpp"

namespace {
void usage() {
  std::printf(
      "ras %s — Reconstruction as Sequence: unified unsupervised anomaly detection\n\n"
      "usage: ras COMMAND [options]   (ras COMMAND --help for the options of one command)\n\n"
      "commands:\n"
      "  classify   top-5 ImageNet classes of images (backbone sanity check)\n"
      "  features   backbone + neck features of images as .npy (N x C x 14 x 14)\n"
      "  train      train one unified RAS model on the normal images of one or more classes\n"
      "  score      anomaly scores (CSV) and heatmaps of images with a trained model\n"
      "  eval       per-class metrics of a trained model on test sets (--report: HTML report)\n"
      "  calibrate  store an image threshold and normalisation range in a model (validation images)\n",
      ras::version_string);
}
}  // namespace

namespace {
int run(int argc, char** argv);
bool g_failed = false;  // the command threw (on this rank)
}

// Under mpirun/srun (MPI builds): MPI around the command; an error on any rank ends the job.
int main(int argc, char** argv) {
  ras_cli::mpi_start(&argc, &argv);
  const int rc = run(argc, argv);
  if (g_failed) ras_cli::mpi_abort_job(rc);
  ras_cli::mpi_finish();
  return rc;
}

namespace {
int run(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    usage();
    return argc < 2 ? 2 : 0;
  }
  const std::string cmd = argv[1];
  // A file-size limit (ulimit -f) must give the same clean "cannot write" error as a full disk:
  // with SIGXFSZ ignored, the write fails with EFBIG and the stream reports it.
  std::signal(SIGXFSZ, SIG_IGN);
  // Standard output that cannot be written (a full disk behind a redirection) is an error too.
  auto finish = [&](int rc) {
    if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
      std::fprintf(stderr, "ras %s: error: cannot write to standard output (%s)\n", cmd.c_str(), std::strerror(errno));
      return rc == 0 ? 1 : rc;
    }
    return rc;
  };
  // train, features and eval run over the ranks; the other commands on rank 0 alone
  if (ras::dist::distributed(ras_cli::world()) && cmd != "train" && cmd != "features" && cmd != "eval") {
    if (!ras_cli::is_root()) return 0;
    std::fprintf(stderr, "ras %s: runs on rank 0 only (train, features and eval use every rank)\n", cmd.c_str());
  }
  // "ras train", or "ras train: rank 1 of 2" with several ranks
  std::string who = "ras " + cmd;
  if (const std::string rank = ras_cli::rank_prefix(); !rank.empty()) who += ": " + rank.substr(0, rank.size() - 2);
  try {
    if (cmd == "classify") return finish(ras_cli::cmd_classify(argc, argv));
    if (cmd == "features") return finish(ras_cli::cmd_features(argc, argv));
    if (cmd == "train") return finish(ras_cli::cmd_train(argc, argv));
    if (cmd == "score") return finish(ras_cli::cmd_score(argc, argv));
    if (cmd == "eval") return finish(ras_cli::cmd_eval(argc, argv));
    if (cmd == "calibrate") return finish(ras_cli::cmd_calibrate(argc, argv));
    if (cmd == "--version" || cmd == "version") {
      std::printf("ras %s\n", ras::version_string);
      return 0;
    }
    std::fprintf(stderr, "ras: unknown command '%s'\n\n", cmd.c_str());
    usage();
    return 2;
  } catch (const ras::Error& e) {
    g_failed = true;
    // One line: multi-line messages (state_dict mismatch lists) are joined with "; ".
    std::string msg = e.what();
    for (std::size_t p; (p = msg.find('\n')) != std::string::npos;) {
      std::size_t q = p + 1;
      while (q < msg.size() && msg[q] == ' ') ++q;
      msg.replace(p, q - p, "; ");
    }
    std::fprintf(stderr, "%s: error: %s\n", who.c_str(), msg.c_str());
    return 1;
  } catch (const std::filesystem::filesystem_error& e) {
    g_failed = true;
    std::fprintf(stderr, "%s: error: %s\n", who.c_str(), e.what());  // names the path(s)
    return 1;
  } catch (const std::bad_alloc&) {
    g_failed = true;
    std::fprintf(stderr, "%s: error: out of memory\n", who.c_str());
    return 1;
  } catch (const std::exception& e) {
    g_failed = true;
    std::fprintf(stderr, "%s: unexpected error: %s\n", who.c_str(), e.what());
    return 1;
  }
}
}  // namespace
