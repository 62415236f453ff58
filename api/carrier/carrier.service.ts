import type { DataSource } from 'typeorm';
import { Carrier } from '../../schema/entities/carrier.entity';
import { OutboundGateway } from '../../schema/entities/outbound-gateway.entity';
import { canonicalCidrs } from '../cidrs';
import { parseSipUri } from '../../domain/sip-uri';
import { quoteInput } from '../../domain/quote-input';
import type { Actor } from '../auth/actor';
import { badInput, forbidden, notFound, translateConstraintError } from '../errors';
import { isId } from '../ids';
import { checkName } from '../names';
import { paginate, type Page, type PageArgs } from '../pagination';
import { inTransaction } from '../transaction';
import { CarrierType, OutboundGatewayType } from './carrier.type';
import type { CreateCarrierInput, UpdateCarrierInput } from './carrier.input';

const CONSTRAINTS = { carrier_name_key: 'a carrier with this name exists' };

function requireOperator(actor: Actor): void {
  if (actor.kind !== 'operator') throw forbidden('carriers and the outbound gateway are managed by operators');
}

/** Operator-level configuration: the carriers calls are admitted from, and the outbound gateway. */
export class CarrierService {
  constructor(private readonly dataSource: DataSource) {}

  async create(actor: Actor, input: CreateCarrierInput): Promise<CarrierType> {
    requireOperator(actor);
    const carrier = { name: checkName(input.name) as string, sourceCidrs: canonicalCidrs(input.sourceCidrs, 'sourceCidrs') };
    try {
      return CarrierType.from(await inTransaction(this.dataSource, (manager) => manager.save(manager.create(Carrier, carrier))));
    } catch (error) {
      translateConstraintError(error, CONSTRAINTS);
    }
  }

  async update(actor: Actor, id: string, input: UpdateCarrierInput): Promise<CarrierType> {
    requireOperator(actor);
    const name = checkName(input.name);
    const sourceCidrs = input.sourceCidrs == null ? undefined : canonicalCidrs(input.sourceCidrs, 'sourceCidrs');
    try {
      return await inTransaction(this.dataSource, async (manager) => {
        const carrier = isId(id) ? await manager.findOneBy(Carrier, { id }) : null;
        if (carrier === null) throw notFound('Carrier', id);
        if (name !== undefined) carrier.name = name;
        if (sourceCidrs !== undefined) carrier.sourceCidrs = sourceCidrs;
        return CarrierType.from(await manager.save(carrier));
      });
    } catch (error) {
      translateConstraintError(error, CONSTRAINTS);
    }
  }

  async delete(actor: Actor, id: string): Promise<string> {
    requireOperator(actor);
    const result = isId(id) ? await inTransaction(this.dataSource, (manager) => manager.delete(Carrier, { id })) : null;
    if (result === null || result.affected === 0) throw notFound('Carrier', id);
    return id;
  }

  async list(actor: Actor, page: PageArgs): Promise<Page<CarrierType>> {
    requireOperator(actor);
    const query = this.dataSource.getRepository(Carrier).createQueryBuilder('carrier');
    return paginate(query, page, { timeColumn: 'createdAt', direction: 'ASC' }, CarrierType.from);
  }

  /** Sets (or, with null, removes) the one outbound gateway. */
  async setOutboundGateway(actor: Actor, uri: string | null): Promise<OutboundGatewayType | null> {
    requireOperator(actor);
    if (uri !== null) {
      const parsed = parseSipUri(uri);
      if (parsed === null || parsed.scheme !== 'sip' || parsed.user !== undefined) {
        throw badInput([`uri: ${quoteInput(uri)} is not a sip:host[:port] URI (the number is put in the user part per call)`]);
      }
    }
    return inTransaction(this.dataSource, async (manager) => {
      const [existing] = await manager.find(OutboundGateway, { lock: { mode: 'pessimistic_write' } });
      if (uri === null) {
        if (existing !== undefined) await manager.remove(existing);
        return null;
      }
      const gateway = existing ?? manager.create(OutboundGateway, {});
      gateway.uri = uri.trim();
      return OutboundGatewayType.from(await manager.save(gateway));
    });
  }

  async outboundGateway(actor: Actor): Promise<OutboundGatewayType | null> {
    requireOperator(actor);
    const [gateway] = await this.dataSource.getRepository(OutboundGateway).find();
    return gateway === undefined ? null : OutboundGatewayType.from(gateway);
  }
}
