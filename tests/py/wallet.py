"""A NEAR client from PyPI (near-kit 1.3.0), unmodified, against our node: a transfer and
view calls of the treasury. Usage: python wallet.py RPC_URL CREDENTIALS_JSON RECEIVER"""

import json
import sys

from near import Near

url, cred_file, receiver = sys.argv[1:]
with open(cred_file, encoding="utf-8") as f:
    cred = json.load(f)
client = Near(network="localnet", rpc_url=url, account_id=cred["account_id"], private_key=cred["secret_key"])

before, receiver_before = client.balance(), client.balance(receiver)
client.send(receiver, "0.5 NEAR")
assert client.balance() == before - 5 * 10**23, (before, client.balance())
assert client.balance(receiver) == receiver_before + 5 * 10**23

members = client.view("treasury", "get_members")
assert members == [{"account_id": "alice.acme"}, {"account_id": "bob.acme"}, {"account_id": "carol.acme"}], members
assert client.view("treasury", "get_num_confirmations") == 2
assert client.view("treasury", "list_request_ids") == []
print("near-kit wallet flow: ok")
