/// \file
/// A caching allocator for tensors and graph nodes. A training step builds and
/// frees the same few hundred buffers every iteration; keeping freed blocks by
/// size and handing them out again makes a steady-state step allocate nothing
/// from the system (no malloc, no page faults on fresh pages), as PyTorch's
/// caching allocator does on the GPU.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <utility>
#include <vector>

// Under AddressSanitizer a cached block is poisoned until handed out again,
// so that a use after free through the pool is reported as one would be
// through malloc (otherwise the pool would hide it by keeping the block).
#if defined(__SANITIZE_ADDRESS__)
#define TINYGAN_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TINYGAN_ASAN 1
#endif
#endif
#ifdef TINYGAN_ASAN
#include <sanitizer/asan_interface.h>
#define TINYGAN_POISON(p, bytes) ASAN_POISON_MEMORY_REGION(p, bytes)
#define TINYGAN_UNPOISON(p, bytes) ASAN_UNPOISON_MEMORY_REGION(p, bytes)
#else
#define TINYGAN_POISON(p, bytes) ((void)(p), (void)(bytes))
#define TINYGAN_UNPOISON(p, bytes) ((void)(p), (void)(bytes))
#endif

namespace tinygan::memory {

/// Every block is aligned for the widest SIMD loads (AVX-512) and cache lines.
constexpr std::size_t kAlignment = 64;

class Pool {
 public:
  /// Freed blocks beyond this many bytes go back to the system instead.
  static constexpr std::size_t kDefaultCacheLimit = std::size_t(1) << 30;

  void* acquire(std::size_t bytes) {
    bytes = round_up(bytes);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = free_.find(bytes);
      if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        cached_bytes_ -= bytes;
        TINYGAN_UNPOISON(p, bytes);
        return p;
      }
    }
    void* p = std::aligned_alloc(kAlignment, bytes);
    if (!p) throw std::bad_alloc();
    return p;
  }

  void release(void* p, std::size_t bytes) noexcept {
    if (!p) return;
    bytes = round_up(bytes);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (cached_bytes_ + bytes <= cache_limit_) {
        try {
          free_[bytes].push_back(p);
          cached_bytes_ += bytes;
          TINYGAN_POISON(p, bytes);
          return;
        } catch (...) {  // no room to remember the block: give it back instead
        }
      }
    }
    std::free(p);
  }

  /// Returns every cached block to the system (after a phase with other shapes).
  void release_cached() noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [bytes, blocks] : free_)
      for (void* p : blocks) {
        TINYGAN_UNPOISON(p, bytes);
        std::free(p);
      }
    free_.clear();
    cached_bytes_ = 0;
  }

  std::size_t cached_bytes() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return cached_bytes_;
  }
  void set_cache_limit(std::size_t bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    cache_limit_ = bytes;
  }

 private:
  static std::size_t round_up(std::size_t bytes) {
    return bytes == 0 ? kAlignment : (bytes + kAlignment - 1) / kAlignment * kAlignment;
  }

  mutable std::mutex mutex_;
  std::unordered_map<std::size_t, std::vector<void*>> free_;  // block size -> free blocks
  std::size_t cached_bytes_ = 0, cache_limit_ = kDefaultCacheLimit;
};

/// The process's pool. Never destroyed, so tensors freed during static
/// destruction still have somewhere to go.
inline Pool& pool() {
  static Pool* const instance = new Pool;
  return *instance;
}

/// A standard allocator over the pool. construct() without arguments
/// default-initializes, so a vector<T, PoolAllocator<T>>(n) of floats is left
/// uninitialized for code that overwrites it anyway.
template <class T>
struct PoolAllocator {
  using value_type = T;
  PoolAllocator() = default;
  template <class U>
  PoolAllocator(const PoolAllocator<U>&) noexcept {}

  T* allocate(std::size_t n) { return static_cast<T*>(pool().acquire(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { pool().release(p, n * sizeof(T)); }

  template <class U>
  void construct(U* p) noexcept(noexcept(::new (static_cast<void*>(p)) U)) {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }

  template <class U>
  bool operator==(const PoolAllocator<U>&) const noexcept { return true; }
};

template <class T>
using PooledVector = std::vector<T, PoolAllocator<T>>;

}  // namespace tinygan::memory
