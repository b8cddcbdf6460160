#!/usr/bin/env python3
# Prepares a moto S3 server for kudo-diag's upload tests (tests/integration/ship.rs).
# moto is started with INITIAL_NO_AUTH_ACTION_COUNT=3, so the first three requests (creating an
# IAM user, its policy and its access key) need no signature and every later one is checked
# against that key: wrong credentials then fail the way they fail on AWS.
# Usage: s3-bootstrap.py ENDPOINT BUCKET  -> prints "ACCESS_KEY_ID SECRET_ACCESS_KEY"
import sys

import boto3

endpoint, bucket = sys.argv[1], sys.argv[2]
boot = dict(endpoint_url=endpoint, region_name="us-east-1",
            aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
iam = boto3.client("iam", **boot)
iam.create_user(UserName="kudo-diag")
iam.put_user_policy(
    UserName="kudo-diag", PolicyName="s3",
    PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}')
key = iam.create_access_key(UserName="kudo-diag")["AccessKey"]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id=key["AccessKeyId"],
                  aws_secret_access_key=key["SecretAccessKey"])
s3.create_bucket(Bucket=bucket)
print(key["AccessKeyId"], key["SecretAccessKey"])
