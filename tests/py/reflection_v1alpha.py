"""Lists a gRPC server's services and one service's methods through server reflection v1alpha,
as Python's grpcio-reflection speaks it (the v1alpha client older grpcurl and Postman share).

    python reflection_v1alpha.py HOST:PORT SERVICE

Prints {"services": [...], "methods": [...]} as JSON; exits non-zero on any failure.
"""

import json
import sys

import grpc
from google.protobuf.descriptor_pool import DescriptorPool
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)


def main() -> None:
    target, service = sys.argv[1], sys.argv[2]
    with grpc.insecure_channel(target) as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        services = sorted(database.get_services())
        methods = [m.name for m in DescriptorPool(database).FindServiceByName(service).methods]
    print(json.dumps({"services": services, "methods": methods}))


if __name__ == "__main__":
    main()
