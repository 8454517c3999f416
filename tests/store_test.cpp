// The store tests live in tests/store/: the conformance suite every backend runs
// (store_contract.hpp), instantiated for MemoryStore (memory_store_test.cpp) and SqliteStore
// (sqlite_store_test.cpp), each with its backend-only tests. Catch2WithMain provides main().
