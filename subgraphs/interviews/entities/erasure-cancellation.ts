import { DateTimeType, EntitySchema } from '@mikro-orm/core';
import type { Status } from '../lifecycle';

/**
 * An interview the account erasure saga cancelled (`erasure_cancellation`), with the status it
 * had, so the saga's compensation can put it back (`../erasure.ts`). One row per saga and
 * interview: a repeated step finds its rows and does nothing twice.
 */
export class ErasureCancellationEntity {
  sagaId!: string;
  interviewId!: string;
  previousStatus!: Status;
  cancelledAt!: Date;
  restoredAt: Date | null = null;
}

export const ErasureCancellationSchema = new EntitySchema<ErasureCancellationEntity>({
  class: ErasureCancellationEntity,
  tableName: 'erasure_cancellation',
  properties: {
    sagaId: { type: 'string', fieldName: 'saga_id', primary: true },
    interviewId: { type: 'string', fieldName: 'interview_id', primary: true },
    previousStatus: { type: 'string', fieldName: 'previous_status' },
    cancelledAt: { type: DateTimeType, fieldName: 'cancelled_at' },
    restoredAt: { type: DateTimeType, fieldName: 'restored_at', nullable: true },
  },
});
