/**
 * What a deploy would create, read from the CloudFormation template `serverless package` wrote
 * (test/setup/offline.ts packages once per run, test/packaging.test.ts checks the zip): every
 * HTTP API route requires authorisation, each function has its own least-privilege role, and
 * no IAM statement allows a wildcard action or S3 on `*`. The apiAuth param's other modes are
 * checked on the resolved configuration (`serverless print`), which needs no second package.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, inject, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const template = JSON.parse(readFileSync(join(dirname(inject('artifact')), 'cloudformation-template-update-stack.json'), 'utf8')) as {
  Resources: Record<string, { Type: string; Properties: Record<string, any> }>;
};
const resources = Object.entries(template.Resources);
const ofType = (type: string) => resources.filter(([, r]) => r.Type === type);

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

/** Every statement of every inline policy of `role`. */
const statementsOf = (role: { Properties: Record<string, any> }): Statement[] =>
  (role.Properties.Policies ?? []).flatMap((p: { PolicyDocument: { Statement: Statement | Statement[] } }) => [p.PolicyDocument.Statement].flat());
const list = <T>(x: T | T[]): T[] => (Array.isArray(x) ? x : [x]);

/** `serverless print` with extra CLI arguments: the configuration as a deploy would resolve it. */
function printConfig(args: string[]): any {
  const out = execFileSync(process.execPath, [join(ROOT, 'node_modules', 'serverless', 'bin', 'serverless.js'), 'print', '--format', 'json', ...args], {
    cwd: ROOT, encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off', API_AUTH: '' },
  });
  return JSON.parse(out.slice(out.indexOf('{')));
}

describe('deployment template (serverless package)', () => {
  it('requires IAM (SigV4) authorisation on every HTTP API route by default', () => {
    const routes = ofType('AWS::ApiGatewayV2::Route');
    expect(routes.map(([, r]) => r.Properties.RouteKey).sort()).toEqual(['GET /v1/health', 'POST /v1/predict']);
    for (const [id, route] of routes) expect(route.Properties.AuthorizationType, id).toBe('AWS_IAM');
  });

  it('gives each function its own role, and the HTTP function no AWS access beyond its logs', () => {
    const functions = ofType('AWS::Lambda::Function');
    const roles = functions.map(([, f]) => f.Properties.Role?.['Fn::GetAtt']?.[0]);
    expect(new Set(roles).size).toBe(functions.length);
    expect(ofType('AWS::IAM::Role').map(([id]) => id).sort()).toEqual([...roles].sort());
    const http = template.Resources[functions.find(([id]) => id === 'HttpLambdaFunction')![1].Properties.Role['Fn::GetAtt'][0]];
    expect(statementsOf(http).flatMap((s) => list(s.Action)).sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
  });

  it('allows no wildcard action and no S3 access to `*`, only the uploads and results prefixes', () => {
    const statements = [...ofType('AWS::IAM::Role'), ...ofType('AWS::IAM::Policy'), ...ofType('AWS::IAM::ManagedPolicy')]
      .flatMap(([id, r]) => (r.Type === 'AWS::IAM::Role' ? statementsOf(r) : [r.Properties.PolicyDocument.Statement].flat()).map((s: Statement) => ({ id, ...s })));
    expect(statements.length).toBeGreaterThan(0);
    for (const s of statements.filter((x) => x.Effect === 'Allow')) {
      for (const action of list(s.Action)) expect(action, s.id).not.toContain('*');
      const targets = list(s.Resource);
      expect(targets, s.id).not.toContain('*');
      if (list(s.Action).some((a) => a.startsWith('s3:'))) {
        for (const target of targets) expect(target, s.id).toMatch(/^arn:aws:s3:::[\w.-]+\/(uploads|results)\/\*$/);
      }
    }
    const s3 = statements.filter((s) => list(s.Action).some((a) => a.startsWith('s3:')));
    expect(s3.flatMap((s) => list(s.Action)).sort()).toEqual(['s3:GetObject', 's3:GetObject', 's3:PutObject']);
  });

  // Lambda retries a failed S3 event twice and then drops it; the queue keeps it (nothing lost).
  it('sends s3 events that fail every retry to a queue the s3 role alone may write to', () => {
    const configs = ofType('AWS::Lambda::EventInvokeConfig');
    expect(configs.map(([, c]) => c.Properties.FunctionName)).toEqual([{ Ref: 'S3LambdaFunction' }]);
    const queueArn = { 'Fn::GetAtt': ['S3FailedEventsQueue', 'Arn'] };
    expect(configs[0][1].Properties.DestinationConfig).toEqual({ OnFailure: { Destination: queueArn } });
    expect(template.Resources.S3FailedEventsQueue.Type).toBe('AWS::SQS::Queue');
    const senders = ofType('AWS::IAM::Role').filter(([, r]) => statementsOf(r).some((s) => list(s.Action).includes('sqs:SendMessage')));
    expect(senders.map(([id]) => id)).toEqual(['S3Role']);
    expect(statementsOf(senders[0][1]).filter((s) => list(s.Action).includes('sqs:SendMessage'))).toEqual([
      { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: queueArn },
    ]);
  });

  it('uses s3:* only to deny, in bucket policies (e.g. the deployment bucket refusing plain HTTP)', () => {
    for (const [id, policy] of ofType('AWS::S3::BucketPolicy')) {
      for (const s of [policy.Properties.PolicyDocument.Statement].flat() as Statement[]) {
        if (list(s.Action).some((a) => a.includes('*'))) expect(s.Effect, id).toBe('Deny');
      }
    }
  });
});

describe('apiAuth param (README "Access control")', () => {
  it('switches every route to a JWT authoriser with the issuer and audience given', () => {
    const config = printConfig(['--param=apiAuth=jwt', '--param=jwtIssuer=https://issuer.example.com/', '--param=jwtAudience=face-api']);
    expect(config.provider.httpApi.authorizers.jwt).toMatchObject({
      type: 'jwt', identitySource: '$request.header.Authorization', issuerUrl: 'https://issuer.example.com/', audience: 'face-api',
    });
    for (const event of config.functions.http.events) expect(event.httpApi.authorizer).toEqual({ name: 'jwt' });
  });

  it('leaves the routes open only when asked with apiAuth=none', () => {
    const config = printConfig(['--param=apiAuth=none']);
    for (const event of config.functions.http.events) expect(event.httpApi.authorizer || undefined).toBeUndefined();
  });

  it('refuses an unknown apiAuth value instead of deploying an open API', () => {
    // The failure must be that value, not a crash or a timeout (serverless prints its error on stdout).
    let failure: { stdout?: string } | undefined;
    try { printConfig(['--param=apiAuth=iamm']); } catch (error) { failure = error as { stdout?: string }; }
    expect(failure?.stdout).toMatch(/Cannot resolve variable at "functions\.http\.events\.0\.httpApi\.authorizer"/);
  });
});
