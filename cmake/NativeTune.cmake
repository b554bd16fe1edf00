# tinygan_native_tune(<out-var>): extra flags for -march=native builds.
#
# GCC 12 does not know AMD's Zen 4, so -march=native tunes for Zen 3 while
# enabling Zen 4's AVX-512. That tuning folds a load into every FMA of Eigen's
# matrix-product kernel: each 16-float packet of the left-hand side is loaded
# once per use (12 loads per 12 FMAs instead of 3), and Zen 4 does one 512-bit
# load per cycle, so the kernel waits on loads. -mtune=generic keeps the
# packets in registers: sgemm 2048^3 at 1 thread went from 80 to 97 GFLOP/s,
# and a DCGAN training iteration from 427-443 to 363-369 ms (2026-11-30).
function(tinygan_native_tune out_var)
  set(flags "")
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    execute_process(COMMAND ${CMAKE_CXX_COMPILER} -march=native -Q --help=target
                    OUTPUT_VARIABLE target_help ERROR_QUIET RESULT_VARIABLE status)
    string(REGEX MATCH "-mtune=[ \t]+([a-z0-9-]+)" tune "${target_help}")
    set(tune "${CMAKE_MATCH_1}")
    if(status EQUAL 0 AND tune MATCHES "^znver" AND target_help MATCHES "-mavx512f[ \t]+\\[enabled\\]")
      set(flags -mtune=generic)
      message(STATUS "tinygan: -march=native tunes for ${tune} on an AVX-512 CPU; adding -mtune=generic")
    endif()
  endif()
  set(${out_var} ${flags} PARENT_SCOPE)
endfunction()
