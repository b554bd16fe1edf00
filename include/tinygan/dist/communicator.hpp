/// \file
/// tinygan::dist::Communicator: the processes of a data-parallel run (MPI's
/// world), and the few collectives training needs: sums, broadcasts and a
/// barrier. Only the main thread communicates (MPI_THREAD_FUNNELED); OpenMP
/// threads only compute.
///
/// Every wait polls with a deadline, so a dead or stalled peer ends the run
/// with a PeerLost error naming the collective instead of hanging it, and a
/// SIGTERM (what mpirun sends the survivors when a rank dies) ends the wait
/// at once with the same error. The messages do not name the rank: callers
/// that print them do (name()).
///
/// The header compiles without MPI too: dist::available() is then false and
/// constructing a Communicator throws, saying how to build with MPI
/// (CMake: -DTINYGAN_WITH_MPI=ON, then link tinygan::dist).
#pragma once

#include <chrono>
#include <csignal>
#include <cstdint>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "tinygan/core/error.hpp"
#include "tinygan/core/shape.hpp"

#ifndef TINYGAN_WITH_MPI
#define TINYGAN_WITH_MPI 0
#endif
#if TINYGAN_WITH_MPI
#include <mpi.h>
#endif

namespace tinygan::dist {

/// Whether this build can run distributed (compiled with TINYGAN_WITH_MPI).
constexpr bool available() { return TINYGAN_WITH_MPI != 0; }

/// A collective that cannot complete: another rank died, stalled past the
/// deadline, or the launcher is terminating the job.
class PeerLost : public Error {
 public:
  using Error::Error;
};

namespace detail {
inline volatile std::sig_atomic_t& terminated() {
  static volatile std::sig_atomic_t flag = 0;
  return flag;
}
extern "C" inline void on_terminate(int) { terminated() = 1; }
}  // namespace detail

class Communicator {
 public:
  /// Starts MPI (once per process). timeout_seconds bounds every wait for the
  /// other ranks; it must exceed the longest work one rank does alone (rank 0
  /// scoring samples, fetching MNIST).
  explicit Communicator(double timeout_seconds = 600) : timeout_(timeout_seconds) {
    check(timeout_seconds > 0, "dist::Communicator: expected a timeout > 0 seconds, found ", timeout_seconds);
#if TINYGAN_WITH_MPI
    int started = 0;
    MPI_Initialized(&started);
    check(!started, "dist::Communicator: MPI is already initialized; make one Communicator per process");
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    check(provided >= MPI_THREAD_FUNNELED, "dist::Communicator: MPI gives thread level ", provided,
          ", expected at least MPI_THREAD_FUNNELED");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    MPI_Comm local;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local);
    MPI_Comm_size(local, &local_size_);
    MPI_Comm_free(&local);
    detail::terminated() = 0;
    previous_term_ = std::signal(SIGTERM, detail::on_terminate);
#else
    throw Error(
        "distributed training needs tinygan built with MPI: configure with -DTINYGAN_WITH_MPI=ON and link "
        "tinygan::dist (Debian: apt-get install libopenmpi-dev openmpi-bin)");
#endif
  }
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  /// Finalizes MPI; after a failure (pending requests, or abort_on_exit())
  /// aborts the whole job instead, since the other ranks may be waiting on
  /// this one and MPI_Finalize would wait for them.
  ~Communicator() {
#if TINYGAN_WITH_MPI
    if (abort_code_ || !pending_.empty()) MPI_Abort(MPI_COMM_WORLD, abort_code_ ? abort_code_ : 1);
    std::signal(SIGTERM, previous_term_);
    MPI_Finalize();
#endif
  }

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_root() const { return rank_ == 0; }
  /// Ranks on this machine (sharing its cores).
  int local_size() const { return local_size_; }
  /// "rank 1 of 2", for messages.
  std::string name() const { return tinygan::detail::concat("rank ", rank_, " of ", size_); }
  double timeout_seconds() const { return timeout_; }
  void set_timeout(double seconds) {
    check(seconds > 0, "dist::Communicator: expected a timeout > 0 seconds, found ", seconds);
    timeout_ = seconds;
  }

  /// Makes the destructor abort the job with this exit code: a rank that
  /// fails alone must not leave the others waiting for it.
  void abort_on_exit(int code) { abort_code_ = code; }

  /// Sums data over the ranks, in place, on every rank. T: float, double
  /// or std::uint64_t, here and below.
  template <class T>
  void sum(T* data, Index n, const char* what) {
    start_sum(data, n);
    wait(what);
  }
  /// Starts a sum of data over the ranks; it completes at the next wait().
  /// data must stay untouched until then.
  template <class T>
  void start_sum(T* data, Index n) {
#if TINYGAN_WITH_MPI
    post([&](MPI_Request* r) { MPI_Iallreduce(MPI_IN_PLACE, data, to_int(n), mpi_type<T>(), MPI_SUM, MPI_COMM_WORLD, r); });
#else
    (void)data, (void)n;
#endif
  }
  /// Copies root's data to every rank.
  template <class T>
  void broadcast(T* data, Index n, const char* what, int root = 0) {
#if TINYGAN_WITH_MPI
    post([&](MPI_Request* r) { MPI_Ibcast(data, to_int(n), mpi_type<T>(), root, MPI_COMM_WORLD, r); });
#else
    (void)data, (void)n, (void)root;
#endif
    wait(what);
  }
  /// Returns once every rank has arrived.
  void barrier(const char* what) {
#if TINYGAN_WITH_MPI
    post([&](MPI_Request* r) { MPI_Ibarrier(MPI_COMM_WORLD, r); });
#endif
    wait(what);
  }

  /// Completes every started collective, or throws PeerLost when the
  /// deadline passes or SIGTERM arrives first. The requests stay pending
  /// then: a later wait() can still complete them.
  void wait(const char* what) {
#if TINYGAN_WITH_MPI
    using Clock = std::chrono::steady_clock;
    const auto started = Clock::now();
    for (;;) {
      int done = 0;
      MPI_Testall(static_cast<int>(pending_.size()), pending_.data(), &done, MPI_STATUSES_IGNORE);
      if (done) break;
      if (detail::terminated())
        throw PeerLost(std::string("terminated by the launcher while waiting for the other ranks in ") + what +
                       " (the job was interrupted, or another rank failed or was killed)");
      const double waited = std::chrono::duration<double>(Clock::now() - started).count();
      if (waited > timeout_)
        throw PeerLost(tinygan::detail::concat("no answer from the other ranks for ", timeout_, " s in ", what,
                                               "; a rank has died or stalled"));
      // Spin for the first milliseconds (the common case: a peer a little
      // behind, where a sleep's wake-up latency would be the cost), then poll
      // gently so that a long-waiting rank leaves the cores to working ones.
      if (waited > kSpinSeconds) std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    pending_.clear();
#else
    (void)what;
#endif
  }

 private:
#if TINYGAN_WITH_MPI
  template <class Start>
  void post(Start start) {
    pending_.emplace_back();
    start(&pending_.back());
  }
  template <class T>
  static MPI_Datatype mpi_type() {
    if constexpr (std::is_same_v<T, float>) return MPI_FLOAT;
    else if constexpr (std::is_same_v<T, double>) return MPI_DOUBLE;
    else {
      static_assert(std::is_same_v<T, std::uint64_t>, "dist::Communicator: float, double or std::uint64_t values");
      return MPI_UINT64_T;
    }
  }
  static int to_int(Index n) {
    check(n >= 0 && n <= INT32_MAX, "dist::Communicator: ", n, " values exceed one MPI message");
    return static_cast<int>(n);
  }
  static constexpr double kSpinSeconds = 0.005;
  std::vector<MPI_Request> pending_;
  void (*previous_term_)(int) = SIG_DFL;
#else
  std::vector<int> pending_;
#endif
  int rank_ = 0, size_ = 1, local_size_ = 1, abort_code_ = 0;
  double timeout_;
};

}  // namespace tinygan::dist
