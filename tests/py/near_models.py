"""Validates a node's JSON-RPC answers against nearcore's published models.

The models are the pydantic classes of `near_jsonrpc_models` (PyPI `near-jsonrpc-client`),
generated from nearcore's OpenAPI spec. Usage:

    near_models.py URL CALLS.json

CALLS.json is a list of {"name", "method", "params", "expect"?}. Each call's params are
validated against the method's request model, sent to URL, and its answer validated against
the response model (and, for `query`, against the variant its `request_type` names). `expect`
is "result" (the default) or "error". Prints one line per call; exits 1 if any call fails.
"""

import json
import sys
import urllib.request

import near_jsonrpc_models as M

RESPONSES = {
    "status": M.JsonRpcResponseForRpcStatusResponseAndRpcStatusError,
    "health": M.JsonRpcResponseForNullableRpcHealthResponseAndRpcStatusError,
    "block": M.JsonRpcResponseForRpcBlockResponseAndRpcBlockError,
    "chunk": M.JsonRpcResponseForRpcChunkResponseAndRpcChunkError,
    "query": M.JsonRpcResponseForRpcQueryResponseAndRpcQueryError,
    "send_tx": M.JsonRpcResponseForRpcTransactionResponseAndRpcTransactionError,
    "broadcast_tx_commit": M.JsonRpcResponseForRpcTransactionResponseAndRpcTransactionError,
    "broadcast_tx_async": M.JsonRpcResponseForCryptoHashAndRpcTransactionError,
    "tx": M.JsonRpcResponseForRpcTransactionResponseAndRpcTransactionError,
    "EXPERIMENTAL_tx_status": M.JsonRpcResponseForRpcTransactionResponseAndRpcTransactionError,
    "EXPERIMENTAL_receipt": M.JsonRpcResponseForRpcReceiptResponseAndRpcReceiptError,
    "EXPERIMENTAL_changes": M.JsonRpcResponseForRpcStateChangesInBlockResponseAndRpcStateChangesError,
    "changes": M.JsonRpcResponseForRpcStateChangesInBlockResponseAndRpcStateChangesError,
    "EXPERIMENTAL_changes_in_block": M.JsonRpcResponseForRpcStateChangesInBlockByTypeResponseAndRpcStateChangesError,
    "block_effects": M.JsonRpcResponseForRpcStateChangesInBlockByTypeResponseAndRpcStateChangesError,
    "EXPERIMENTAL_genesis_config": M.JsonRpcResponseForGenesisConfigAndGenesisConfigError,
    "genesis_config": M.JsonRpcResponseForGenesisConfigAndGenesisConfigError,
    "EXPERIMENTAL_protocol_config": M.JsonRpcResponseForRpcProtocolConfigResponseAndRpcProtocolConfigError,
    "gas_price": M.JsonRpcResponseForRpcGasPriceResponseAndRpcGasPriceError,
    "validators": M.JsonRpcResponseForRpcValidatorResponseAndRpcValidatorError,
    "network_info": M.JsonRpcResponseForRpcNetworkInfoResponseAndRpcNetworkInfoError,
    "client_config": M.JsonRpcResponseForRpcClientConfigResponseAndRpcClientConfigError,
    "light_client_proof": M.JsonRpcResponseForRpcLightClientExecutionProofResponseAndRpcLightClientProofError,
    "EXPERIMENTAL_light_client_proof": M.JsonRpcResponseForRpcLightClientExecutionProofResponseAndRpcLightClientProofError,
    "next_light_client_block": M.JsonRpcResponseForRpcLightClientNextBlockResponseAndRpcLightClientNextBlockError,
}

REQUESTS = {
    "block": M.RpcBlockRequest,
    "chunk": M.RpcChunkRequest,
    "query": M.RpcQueryRequest,
    "send_tx": M.RpcSendTransactionRequest,
    "broadcast_tx_commit": M.RpcSendTransactionRequest,
    "broadcast_tx_async": M.RpcSendTransactionRequest,
    "tx": M.RpcTransactionStatusRequest,
    "EXPERIMENTAL_tx_status": M.RpcTransactionStatusRequest,
    "EXPERIMENTAL_receipt": M.RpcReceiptRequest,
    "EXPERIMENTAL_changes": M.RpcStateChangesInBlockByTypeRequest,
    "changes": M.RpcStateChangesInBlockByTypeRequest,
    "EXPERIMENTAL_changes_in_block": M.RpcStateChangesInBlockRequest,
    "block_effects": M.RpcStateChangesInBlockRequest,
    "EXPERIMENTAL_protocol_config": M.RpcProtocolConfigRequest,
    "gas_price": M.RpcGasPriceRequest,
    "validators": M.RpcValidatorRequest,
    "light_client_proof": M.RpcLightClientExecutionProofRequest,
    "EXPERIMENTAL_light_client_proof": M.RpcLightClientExecutionProofRequest,
    "next_light_client_block": M.RpcLightClientNextBlockRequest,
}

QUERY_VARIANTS = {
    "view_account": M.rpc_query_response.RpcQueryResponseAccountView,
    "view_code": M.rpc_query_response.RpcQueryResponseContractCodeView,
    "view_state": M.rpc_query_response.RpcQueryResponseViewStateResult,
    "call_function": M.rpc_query_response.RpcQueryResponseCallResult,
    "view_access_key": M.rpc_query_response.RpcQueryResponseAccessKeyView,
    "view_access_key_list": M.rpc_query_response.RpcQueryResponseAccessKeyList,
}


def call(url, method, params):
    body = json.dumps({"jsonrpc": "2.0", "id": "models", "method": method, "params": params}).encode()
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


def check(url, c):
    method, params = c["method"], c.get("params", [])
    if method in REQUESTS:
        REQUESTS[method].model_validate(params)
    answer = call(url, method, params)
    parsed = RESPONSES[method].model_validate(answer).root
    expect = c.get("expect", "result")
    if expect == "result":
        if getattr(parsed, "error", None) is not None or "result" not in answer:
            raise AssertionError(f"expected a result, got {json.dumps(answer)[:400]}")
        if method == "query":
            QUERY_VARIANTS[params["request_type"]].model_validate(answer["result"])
    elif "error" not in answer:
        raise AssertionError(f"expected an error, got {json.dumps(answer)[:400]}")
    return answer


def main():
    url, path = sys.argv[1], sys.argv[2]
    calls = json.load(open(path))
    failed = 0
    for c in calls:
        try:
            check(url, c)
            print(f"ok   {c['name']}")
        except Exception as e:  # every failure is reported, then counted
            failed += 1
            print(f"FAIL {c['name']}: {str(e)[:1500]}")
    print(f"{len(calls) - failed} of {len(calls)} calls validate")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
