"""S3: export files, written with a multipart upload so they stream through memory."""

from __future__ import annotations

from collections.abc import Iterable

from chalicelib.adapters.aws import client
from chalicelib.ports import ExportFiles

PART = 8 * 2**20  # S3 needs at least 5 MiB in every part but the last


class S3Exports(ExportFiles):
    def __init__(self, bucket: str) -> None:
        self.bucket = bucket

    def upload(self, key: str, chunks: Iterable[bytes]) -> None:
        s3 = client("s3")
        upload = s3.create_multipart_upload(
            Bucket=self.bucket, Key=key, ContentType="text/csv; charset=utf-8"
        )["UploadId"]
        parts: list[dict] = []
        buffer = bytearray()

        def flush() -> None:
            number = len(parts) + 1
            answer = s3.upload_part(
                Bucket=self.bucket, Key=key, UploadId=upload, PartNumber=number, Body=bytes(buffer)
            )
            parts.append({"PartNumber": number, "ETag": answer["ETag"]})
            buffer.clear()

        try:
            for chunk in chunks:
                buffer += chunk
                if len(buffer) >= PART:
                    flush()
            if buffer or not parts:
                flush()
            s3.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            s3.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload)
            raise

    def url(self, key: str, filename: str, seconds: int) -> str:
        return client("s3").generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": key,
                "ResponseContentDisposition": f'attachment; filename="{filename}"',
            },
            ExpiresIn=seconds,
        )
