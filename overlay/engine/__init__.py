"""Native model engines and the process they run in.

llama.cpp can crash in ways Python cannot catch (SIGSEGV on CPUs with AMX, aborts on a bad tensor), so GGUF models
run in a worker process (`worker`), driven by a small client (`client`) that turns a dead worker into an `LLMError`
saying what happened and what to do (`deaths`). `llama` is the only module that imports llama_cpp; it is imported
by the worker, by `bench/`, and for header reads that run no compute.
"""
