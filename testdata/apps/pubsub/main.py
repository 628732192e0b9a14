"""google-cloud-pubsub against an emulator address.

1. A PublisherClient for PUBSUB_EMULATOR_HOST (default 127.0.0.1:8085, where
   nothing listens): creating it must not connect.
2. A real gRPC round trip on loopback: an in-process fake of the Publisher
   service's Publish method, and one message published to it.
"""

import os
from concurrent import futures

os.environ.setdefault("PUBSUB_EMULATOR_HOST", "127.0.0.1:8085")

import grpc  # noqa: E402
from google.cloud import pubsub_v1  # noqa: E402
from google.pubsub_v1.types import PublishRequest, PublishResponse  # noqa: E402

publisher = pubsub_v1.PublisherClient()
topic = publisher.topic_path("demo-project", "demo-topic")
print(f"publisher built: {topic} via {os.environ['PUBSUB_EMULATOR_HOST']} (grpc {grpc.__version__})")


def publish(request, context):
    return PublishResponse(message_ids=[f"id-{i}" for i, _ in enumerate(request.messages, 1)])


server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
server.add_generic_rpc_handlers(
    (
        grpc.method_handlers_generic_handler(
            "google.pubsub.v1.Publisher",
            {
                "Publish": grpc.unary_unary_rpc_method_handler(
                    publish,
                    request_deserializer=PublishRequest.deserialize,
                    response_serializer=PublishResponse.serialize,
                )
            },
        ),
    )
)
port = server.add_insecure_port("127.0.0.1:0")
server.start()
try:
    os.environ["PUBSUB_EMULATOR_HOST"] = f"127.0.0.1:{port}"
    fake = pubsub_v1.PublisherClient()
    message_id = fake.publish(topic, b"hello").result(timeout=30)
    print(f"published over gRPC on loopback: {message_id}")
finally:
    server.stop(grace=None)
