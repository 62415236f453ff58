import { timingSafeEqual } from 'node:crypto';
import { In, IsNull, type DataSource } from 'typeorm';
import type { Logger } from 'pino';
import { ApiKey, ApiKeyScope } from '../../schema/entities/api-key.entity';
import { findAccessibleCompany } from '../company/company.service';
import { forbidden, notFound } from '../errors';
import { isId } from '../ids';
import { checkName } from '../names';
import { paginate, type Page, type PageArgs } from '../pagination';
import { inTransaction } from '../transaction';
import type { Actor } from './actor';
import { ApiKeyType, CreateApiKeyPayload } from './api-key.type';
import type { CreateApiKeyInput } from './api-key.input';
import { generateApiKeySecret, hashApiKeySecret } from './token';

/** `last_used_at` is a hint for operators, not an audit log: refresh it at most this often. */
const LAST_USED_RESOLUTION_MS = 60_000;

/** Serialises the first-start bootstrap across API processes starting at once. */
const BOOTSTRAP_LOCK = 0x7472_756e;

export class ApiKeyService {
  /** The hash of `OPERATOR_API_KEY` when the environment sets one; it is never stored. */
  private readonly environmentKeyHash: Buffer | null;

  constructor(
    private readonly dataSource: DataSource,
    private readonly logger: Logger,
    environmentOperatorKey: string | undefined,
  ) {
    this.environmentKeyHash = environmentOperatorKey === undefined ? null : Buffer.from(hashApiKeySecret(environmentOperatorKey), 'hex');
  }

  /** Resolves a bearer secret to the actor it stands for, or null when it is unknown or revoked. */
  async authenticate(secret: string): Promise<Actor | null> {
    if (secret.length < 16 || secret.length > 200) return null;
    const hash = hashApiKeySecret(secret);
    if (this.environmentKeyHash !== null && timingSafeEqual(this.environmentKeyHash, Buffer.from(hash, 'hex'))) {
      return { kind: 'operator', keyId: null };
    }
    const key = await this.dataSource.getRepository(ApiKey).findOneBy({ keyHash: hash, revokedAt: IsNull() });
    if (key === null) return null;
    this.touch(key);
    return key.scope === ApiKeyScope.OPERATOR || key.companyId === null
      ? { kind: 'operator', keyId: key.id }
      : { kind: 'company', keyId: key.id, companyId: key.companyId };
  }

  /** Of the stored keys `ids`, those that still exist and are not revoked. */
  async validKeyIds(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const keys = await this.dataSource.getRepository(ApiKey).find({ select: { id: true }, where: { id: In([...ids]), revokedAt: IsNull() } });
    return new Set(keys.map((key) => key.id));
  }

  private touch(key: ApiKey): void {
    const now = Date.now();
    if (key.lastUsedAt !== null && now - key.lastUsedAt.getTime() < LAST_USED_RESOLUTION_MS) return;
    this.dataSource
      .getRepository(ApiKey)
      .update({ id: key.id }, { lastUsedAt: new Date(now) })
      .catch((error: unknown) => this.logger.warn({ err: error, apiKeyId: key.id }, 'could not record key use'));
  }

  async create(actor: Actor, input: CreateApiKeyInput): Promise<CreateApiKeyPayload> {
    const name = checkName(input.name) as string;
    const companyId = input.companyId ?? null;
    if (companyId === null && actor.kind !== 'operator') throw forbidden('only operator keys create operator keys');
    const secret = generateApiKeySecret();
    const key = await inTransaction(this.dataSource, async (manager) => {
      if (companyId !== null) await findAccessibleCompany(manager, actor, companyId);
      return manager.save(
        manager.create(ApiKey, {
          scope: companyId === null ? ApiKeyScope.OPERATOR : ApiKeyScope.COMPANY,
          companyId,
          name,
          keyHash: hashApiKeySecret(secret),
          lastUsedAt: null,
          revokedAt: null,
        }),
      );
    });
    this.logger.info({ apiKeyId: key.id, scope: key.scope, companyId }, 'API key created');
    return Object.assign(new CreateApiKeyPayload(), { secret, apiKey: ApiKeyType.from(key) });
  }

  /** Revokes a key at once (idempotent). A company key may revoke its company's keys, itself included. */
  async revoke(actor: Actor, id: string): Promise<ApiKeyType> {
    return inTransaction(this.dataSource, async (manager) => {
      const key = isId(id) ? await manager.findOneBy(ApiKey, { id }) : null;
      if (key === null || (actor.kind === 'company' && key.companyId !== actor.companyId)) throw notFound('ApiKey', id);
      if (key.revokedAt === null) {
        key.revokedAt = new Date();
        await manager.save(key);
        this.logger.info({ apiKeyId: key.id }, 'API key revoked');
      }
      return ApiKeyType.from(key);
    });
  }

  /** Keys of one company, or the operator keys when `companyId` is left out (operators only). */
  async list(actor: Actor, companyId: string | null, page: PageArgs): Promise<Page<ApiKeyType>> {
    if (companyId === null && actor.kind !== 'operator') throw forbidden('only operator keys list operator keys');
    if (companyId !== null) await findAccessibleCompany(this.dataSource.manager, actor, companyId);
    const query = this.dataSource.getRepository(ApiKey).createQueryBuilder('key');
    if (companyId === null) query.where('key.companyId IS NULL');
    else query.where('key.companyId = :companyId', { companyId });
    return paginate(query, page, { timeColumn: 'createdAt', direction: 'ASC' }, ApiKeyType.from);
  }

  /**
   * On a start with no `OPERATOR_API_KEY`: when no operator key exists yet, creates one and
   * returns its secret (to be printed once). Returns null when there is nothing to show.
   */
  async bootstrapOperatorKey(): Promise<string | null> {
    if (this.environmentKeyHash !== null) return null;
    return inTransaction(this.dataSource, async (manager) => {
      await manager.query('SELECT pg_advisory_xact_lock($1)', [BOOTSTRAP_LOCK]);
      const existing = await manager.countBy(ApiKey, { scope: ApiKeyScope.OPERATOR, revokedAt: IsNull() });
      if (existing > 0) return null;
      const secret = generateApiKeySecret();
      const key = await manager.save(
        manager.create(ApiKey, {
          scope: ApiKeyScope.OPERATOR,
          companyId: null,
          name: 'operator (generated on first start)',
          keyHash: hashApiKeySecret(secret),
          lastUsedAt: null,
          revokedAt: null,
        }),
      );
      this.logger.info({ apiKeyId: key.id }, 'operator API key generated');
      return secret;
    });
  }
}
