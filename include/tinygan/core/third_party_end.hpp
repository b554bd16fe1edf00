/// \file
/// After a third-party header: the warnings third_party_begin.hpp silenced
/// apply again.
#pragma GCC diagnostic pop
