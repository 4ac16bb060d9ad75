"""Scale-out on Dask distributed (DESIGN §11): migration hosts run data-path calls.

``executor.py`` (coordinator side), ``task.py`` (what runs on a worker), ``host.py``
(what a worker declares), ``connect.py`` (TLS and connection errors). Importing this
package needs the optional ``vmware2scw[dask]`` extra; the engine imports it lazily.
"""
