// The region an S3 client is given must be one: the SDK turns any host label into an endpoint
// (s3.not-a-region.amazonaws.com), and the run would then retry a host that cannot exist. With --s3-endpoint
// (an S3-compatible store) the region is only a signing name, and anything goes.
import { StorageError } from '../errors.ts';

// us-east-1, us-gov-west-1, cn-northwest-1, us-isob-east-1, eusc-de-east-1; the SDK's fips- / -fips spellings.
const REGION_NAME = /^(fips-)?[a-z]{2,4}(-[a-z]+){1,3}-\d{1,2}(-fips)?$/;

export function assertUsableRegion(region: string, endpoint: string | undefined): void {
  if (endpoint !== undefined || region === 'aws-global' || REGION_NAME.test(region)) return;
  throw new StorageError(`the AWS region ${JSON.stringify(region)} (REGION, AWS_REGION or --region) is not a region name ` +
    'like us-east-1 or eu-west-3; for an S3-compatible store, give its --s3-endpoint', { permanent: true, code: 'InvalidRegion' });
}
